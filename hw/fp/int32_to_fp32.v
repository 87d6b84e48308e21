// hw/fp/int32_to_fp32.v: signed int32 -> IEEE binary32, round to nearest even, as C `(float)i`.
//
// Exact for |i| <= 2^24; larger values round to nearest even (cvtsi2ss). Combinational core plus
// LATENCY output register stages (fp_pipe).
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
    wire        s = i[31];
    wire [31:0] mag = s ? (~i + 32'd1) : i;  // -2^31 -> 0x80000000, still correct unsigned
    // bit 31 of mag weighs 2^31: biased exponent 127 + 31
    wire [31:0] y_c;
    fp32_round_pack #(.W(32), .EW(12)) u_rp (.sign(s), .exp(12'd158), .sig(mag), .y(y_c));

    fp_pipe #(.W(32), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data(y_c), .out_valid(out_valid), .out_data(y));
endmodule

`default_nettype wire
