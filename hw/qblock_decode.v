// hw/qblock_decode.v: one ggml weight block (Q4_0, Q5_0 or Q8_0) -> 32 signed integers and the
// fp16 scale, as decode_block in hls/qmatmul.c (docs/numerics.md, qmatmul step 3).
//
// blk holds the block's bytes as they lie in memory: byte i at bits 8i+7..8i (Q4_0 uses bytes
// 0..17, Q5_0 0..21, Q8_0 0..33; the rest is ignored). Byte 0..1: fp16 d (little-endian).
//   Q8_0: q_j = (int8) byte 2+j
//   Q4_0: q_j = (byte 2+j & 15) - 8, q_{j+16} = (byte 2+j >> 4) - 8          (j < 16)
//   Q5_0: qh = bytes 2..5 (little-endian); q_j = ((byte 6+j & 15) | qh[j] << 4) - 16,
//         q_{j+16} = ((byte 6+j >> 4) | qh[j+16] << 4) - 16                 (j < 16)
// q: element j at bits 8j+7..8j (two's complement). Any wtype other than Q4_0 and Q8_0 decodes
// as Q5_0, as in the C; type_ok says whether wtype is one of the three.
// Combinational core plus LATENCY output register stages (fp_pipe).
`default_nettype none

module qblock_decode #(
    parameter integer LATENCY = 0
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [31:0]  wtype,
    input  wire [271:0] blk,  // 34 bytes
    output wire         out_valid,
    output wire         type_ok,
    output wire [15:0]  d,
    output wire [255:0] q     // (32,) int8
);
`include "qmatmul_regs.vh"

    wire is_q8 = (wtype == FL_TYPE_Q8_0);
    wire is_q4 = (wtype == FL_TYPE_Q4_0);
    wire ok = is_q8 || is_q4 || (wtype == FL_TYPE_Q5_0);
    wire [31:0] qh = blk[16 +: 32];  // bytes 2..5

    reg [255:0] q_c;
    integer j;
    always @(*) begin
        for (j = 0; j < 16; j = j + 1) begin
            if (is_q8) begin
                q_c[8*j +: 8] = blk[8*(2+j) +: 8];
                q_c[8*(j+16) +: 8] = blk[8*(18+j) +: 8];
            end else if (is_q4) begin
                q_c[8*j +: 8] = {4'd0, blk[8*(2+j) +: 4]} - 8'd8;
                q_c[8*(j+16) +: 8] = {4'd0, blk[8*(2+j)+4 +: 4]} - 8'd8;
            end else begin
                q_c[8*j +: 8] = {3'd0, qh[j], blk[8*(6+j) +: 4]} - 8'd16;
                q_c[8*(j+16) +: 8] = {3'd0, qh[j+16], blk[8*(6+j)+4 +: 4]} - 8'd16;
            end
        end
    end

    fp_pipe #(.W(1 + 16 + 256), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data({ok, blk[15:0], q_c}),
        .out_valid(out_valid), .out_data({type_ok, d, q}));
endmodule

`default_nettype wire
