// hw/q8_mac32.v: the block MAC lane: sumi = sum_j w_j * x_j over 32 int8 pairs, exact in int32
// (docs/numerics.md, qmatmul step 3; |sumi| <= 32 * 128 * 128 = 2^19).
//
// w, x: element j at bits 8j+7..8j, two's complement. 32 signed 8x8 multipliers and a
// five-level adder tree (16-bit products, widening one bit per level to 21 bits), sign-extended
// to 32 bits. The MAC (function mac32) feeds LATENCY register stages; the first computes it under
// in_valid (a clock enable: a simulator skips it in idle cycles), fp_pipe the rest. LATENCY = 0:
// combinational.
`default_nettype none

module q8_mac32 #(
    parameter integer LATENCY = 1
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [255:0] w,  // (32,) int8
    input  wire [255:0] x,  // (32,) int8
    output wire         out_valid,
    output wire [31:0]  sumi
);
    // ---- products and the adder tree (level l: 32 >> l sums of 16 + l bits) ----
    function automatic [31:0] mac32(input [255:0] mw, input [255:0] mx);
        reg [32*16-1:0] p;
        reg [16*17-1:0] s1;
        reg [8*18-1:0]  s2;
        reg [4*19-1:0]  s3;
        reg [2*20-1:0]  s4;
        reg [20:0]      s5;
        integer g;
        begin
            for (g = 0; g < 32; g = g + 1)
                p[16*g +: 16] = $signed(mw[8*g +: 8]) * $signed(mx[8*g +: 8]);
            for (g = 0; g < 16; g = g + 1)
                s1[17*g +: 17] = {p[16*(2*g)+15], p[16*(2*g) +: 16]} +
                                 {p[16*(2*g+1)+15], p[16*(2*g+1) +: 16]};
            for (g = 0; g < 8; g = g + 1)
                s2[18*g +: 18] = {s1[17*(2*g)+16], s1[17*(2*g) +: 17]} +
                                 {s1[17*(2*g+1)+16], s1[17*(2*g+1) +: 17]};
            for (g = 0; g < 4; g = g + 1)
                s3[19*g +: 19] = {s2[18*(2*g)+17], s2[18*(2*g) +: 18]} +
                                 {s2[18*(2*g+1)+17], s2[18*(2*g+1) +: 18]};
            for (g = 0; g < 2; g = g + 1)
                s4[20*g +: 20] = {s3[19*(2*g)+18], s3[19*(2*g) +: 19]} +
                                 {s3[19*(2*g+1)+18], s3[19*(2*g+1) +: 19]};
            s5 = {s4[19], s4[19:0]} + {s4[39], s4[39:20]};
            mac32 = {{11{s5[20]}}, s5};
        end
    endfunction

`include "fp_stages.vh"
    `FL_FP_STAGES(sumi, 32, mac32(w, x))
endmodule

`default_nettype wire
