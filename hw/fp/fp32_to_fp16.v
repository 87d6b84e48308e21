// hw/fp/fp32_to_fp16.v: IEEE binary32 -> binary16, round to nearest even, as fl_fp32_to_fp16
// (include/flare/fp16.h): subnormal halves, overflow (from 65520 up) to inf, a NaN kept quiet
// with its top payload bits. Used for the Q8_0 block scale fp16(amax / 127) and the fp16 KV cache.
// LATENCY register stages (0: combinational).
`default_nettype none

module fp32_to_fp16 #(
    parameter integer LATENCY = 1
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] f,
    output wire        out_valid,
    output wire [15:0] h
);
    function automatic [15:0] f2h(input [31:0] ff);
        reg        s, up;
        reg [30:0] ax, r;
        reg [23:0] m, rem, half;
        // bits that are zero, or not needed, where each value is used
        /* verilator lint_off UNUSED */
        reg [30:0] r_rb;
        reg [23:0] q_sub;
        reg [7:0]  shift8;
        /* verilator lint_on UNUSED */
        reg [4:0]  shift;
        reg [10:0] h_sub;
        begin
            s = ff[31];
            ax = ff[30:0];
            if (ax > 31'h7f80_0000)
                f2h = {s, 5'h1f, 1'b1, ax[21:13]};       // NaN: quiet, top payload bits
            else if (ax >= 31'h477f_f000)
                f2h = {s, 15'h7c00};                    // >= 65520, inf included
            else if (ax < 31'h3300_0000)
                f2h = {s, 15'd0};                       // below 2^-25 (2^-25 itself ties to 0)
            else if (ax < 31'h3880_0000) begin
                // below 2^-14: an fp16 subnormal; shift = 126 - e in 14..24
                m = {1'b1, ax[22:0]};
                shift8 = 8'd126 - ax[30:23];
                shift = shift8[4:0];
                q_sub = m >> shift;
                rem = m & ~({24{1'b1}} << shift);
                half = 24'd1 << (shift - 5'd1);
                up = (rem > half) || ((rem == half) && q_sub[0]);
                h_sub = q_sub[10:0] + {10'd0, up};  // <= 0x400 (rounds up to 2^-14 at most)
                f2h = {s, 4'd0, h_sub};
            end else begin
                // normal range: round at bit 13, rebias
                r = ax + 31'h0fff + {30'd0, ax[13]};
                r_rb = r - 31'h3800_0000;
                f2h = {s, r_rb[27:13]};
            end
        end
    endfunction

    // output stages: the first under in_valid, fp_pipe the rest (fp_stages.vh)
`include "fp_stages.vh"
    `FL_FP_STAGES(h, 16, f2h(f))
endmodule

`default_nettype wire
