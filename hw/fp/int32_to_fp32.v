// hw/fp/int32_to_fp32.v: signed int32 -> IEEE binary32, round to nearest even, as C `(float)i`.
//
// Exact for |i| <= 2^24; larger values round to nearest even (cvtsi2ss). The conversion feeds
// LATENCY register stages; the first computes it under in_valid (a clock enable: a simulator
// skips it in idle cycles), fp_pipe the rest. LATENCY = 0: combinational.
`default_nettype none

module int32_to_fp32 #(
    parameter integer LATENCY = 1
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] i,
    output wire        out_valid,
    output wire [31:0] y
);
    localparam integer RP_W = 32, RP_EW = 12;
`include "fp32_round_pack.vh"

    // bit 31 of the magnitude weighs 2^31: biased exponent 127 + 31 (-2^31 -> 0x80000000, still
    // correct unsigned)
    function automatic [31:0] i2f(input [31:0] fi);
        begin
            i2f = fp32_rp(fi[31], 12'd158, fi[31] ? (~fi + 32'd1) : fi);
        end
    endfunction

`include "fp_stages.vh"
    `FL_FP_STAGES(y, 32, i2f(i))
endmodule

`default_nettype wire
