// hw/qblock_dot.v: one block's term of the qmatmul row sum (docs/numerics.md, qmatmul step 3):
//   term = (float)sumi * (fp16_to_fp32(dw) * fp16_to_fp32(dx)),  sumi = sum_j wq_j * xq_j
// bit-exact with block_dot in hls/qmatmul.c: sumi exact in int32, (float)sumi exact (< 2^24),
// the scale product exact (two 11-bit significands), so the final fp32 multiply is the one
// rounding. Two parallel paths of LAT_A cycles (MAC lane + int32 -> fp32; fp16 -> fp32 twice +
// scale multiply), then the final multiply of LAT_B cycles: latency LAT_A + LAT_B, one block per
// cycle.
`default_nettype none

module qblock_dot #(
    parameter integer LAT_A = 2,
    parameter integer LAT_B = 2
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [255:0] wq,  // (32,) int8 decoded weights (qblock_decode)
    input  wire [15:0]  dw,  // fp16 weight scale
    input  wire [255:0] xq,  // (32,) int8 quantized activations
    input  wire [15:0]  dx,  // fp16 activation scale
    output wire         out_valid,
    output wire [31:0]  term // fp32
);
    // ---- path 1: exact integer dot, then (float)sumi; path 2: the scale product ----
    // With LAT_A >= 1 the MAC and the fp16 conversions take the first of the LAT_A cycles (their
    // first register stage, under in_valid: a simulator skips them in idle cycles).
    localparam integer LAT_1 = (LAT_A >= 1) ? 1 : 0;
    wire        v_mac;
    wire [31:0] sumi;
    wire [31:0] sumi_f;
    wire        v_a1;
    q8_mac32 #(.LATENCY(LAT_1)) u_mac (
        .clk(clk), .in_valid(in_valid), .w(wq), .x(xq), .out_valid(v_mac), .sumi(sumi));
    int32_to_fp32 #(.LATENCY(LAT_A - LAT_1)) u_i2f (
        .clk(clk), .in_valid(v_mac), .i(sumi), .out_valid(v_a1), .y(sumi_f));

    wire [31:0] dw_f, dx_f, scale;
    wire        v_dw, v_dx, v_a2;
    fp16_to_fp32 #(.LATENCY(LAT_1)) u_dw (
        .clk(clk), .in_valid(in_valid), .h(dw), .out_valid(v_dw), .y(dw_f));
    fp16_to_fp32 #(.LATENCY(LAT_1)) u_dx (
        .clk(clk), .in_valid(in_valid), .h(dx), .out_valid(v_dx), .y(dx_f));
    fp32_mul #(.LATENCY(LAT_A - LAT_1)) u_scale (
        .clk(clk), .in_valid(v_dw & v_dx), .a(dw_f), .b(dx_f), .out_valid(v_a2), .y(scale));

    // ---- the one rounding ----
    fp32_mul #(.LATENCY(LAT_B)) u_term (
        .clk(clk), .in_valid(v_a1 & v_a2), .a(sumi_f), .b(scale), .out_valid(out_valid),
        .y(term));
endmodule

`default_nettype wire
