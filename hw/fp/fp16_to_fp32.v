// hw/fp/fp16_to_fp32.v: IEEE binary16 -> binary32, exact, as fl_fp16_to_fp32 (flare/fp16.h).
//
// Subnormal halves are normalised; inf and NaN keep sign and payload (man << 13; a signalling
// NaN stays signalling, as in the C). LATENCY register stages (0: combinational).
`default_nettype none

module fp16_to_fp32 #(
    parameter integer LATENCY = 0
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [15:0] h,
    output wire        out_valid,
    output wire [31:0] y
);
    // leading zeros of the nonzero 10-bit fraction of a subnormal (binary search)
    function automatic [3:0] lzc10(input [9:0] lz_in);
        reg [9:0] v;
        begin
            v = lz_in;
            lzc10 = 4'd0;
            if (v[9:2] == 8'd0) begin lzc10 = lzc10 + 4'd8; v = {v[1:0], 8'd0}; end
            if (v[9:6] == 4'd0) begin lzc10 = lzc10 + 4'd4; v = {v[5:0], 4'd0}; end
            if (v[9:8] == 2'd0) begin lzc10 = lzc10 + 4'd2; v = {v[7:0], 2'd0}; end
            if (v[9] == 1'b0) lzc10 = lzc10 + 4'd1;
        end
    endfunction

    function automatic [31:0] h2f(input [15:0] fh);
        reg [3:0] lz;
        reg [9:0] mn;
        begin
            if (fh[14:10] == 5'h1f)
                h2f = {fh[15], 8'hff, fh[9:0], 13'd0};
            else if (fh[14:10] != 5'd0)
                h2f = {fh[15], {3'd0, fh[14:10]} + 8'd112, fh[9:0], 13'd0};
            else if (fh[9:0] == 10'd0)
                h2f = {fh[15], 31'd0};
            else begin
                // value m * 2^-24 = 1.f * 2^(-15 - lz): biased exponent 112 - lz; the leading 1
                // is shifted out (it is the hidden bit)
                lz = lzc10(fh[9:0]);
                mn = fh[9:0] << (lz + 4'd1);
                h2f = {fh[15], 8'd112 - {4'd0, lz}, mn, 13'd0};
            end
        end
    endfunction

    // output stages: the first under in_valid, fp_pipe the rest (fp_stages.vh)
`include "fp_stages.vh"
    `FL_FP_STAGES(y, 32, h2f(h))
endmodule

`default_nettype wire
