// sim/tb_qblock_top.v: test top of the block step: qblock_decode (combinational) feeding
// qblock_dot, with the decoder's outputs visible for a direct check (sim/tb_qblock.cpp).
`default_nettype none

module tb_qblock_top #(
    parameter integer LAT_A = 2,
    parameter integer LAT_B = 2
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [31:0]  wtype,
    input  wire [271:0] blk,     // weight block bytes
    input  wire [255:0] xq,      // (32,) int8
    input  wire [15:0]  dx,      // fp16
    output wire         dec_type_ok,
    output wire [15:0]  dec_d,
    output wire [255:0] dec_q,   // (32,) int8, same cycle
    output wire [31:0]  mac_sumi, // same cycle
    output wire         out_valid,
    output wire [31:0]  term     // LAT_A + LAT_B cycles later
);
    wire dec_valid, mac_valid;
    qblock_decode #(.LATENCY(0)) u_dec (
        .clk(clk), .in_valid(in_valid), .wtype(wtype), .blk(blk), .out_valid(dec_valid),
        .type_ok(dec_type_ok), .d(dec_d), .q(dec_q));
    q8_mac32 #(.LATENCY(0)) u_mac (
        .clk(clk), .in_valid(dec_valid), .w(dec_q), .x(xq), .out_valid(mac_valid),
        .sumi(mac_sumi));
    qblock_dot #(.LAT_A(LAT_A), .LAT_B(LAT_B)) u_dot (
        .clk(clk), .in_valid(dec_valid), .wq(dec_q), .dw(dec_d), .xq(xq), .dx(dx),
        .out_valid(out_valid), .term(term));
    wire unused_ok = mac_valid;
endmodule

`default_nettype wire
