// hw/fp/fp32_to_fp16.v: IEEE binary32 -> binary16, round to nearest even, as fl_fp32_to_fp16
// (include/flare/fp16.h): subnormal halves, overflow (from 65520 up) to inf, a NaN kept quiet
// with its top payload bits. Used for the Q8_0 block scale fp16(amax / 127) and the fp16 KV cache.
// Combinational core plus LATENCY output register stages (fp_pipe).
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
    wire        s = f[31];
    wire [30:0] ax = f[30:0];

    // ---- below 2^-14: an fp16 subnormal or zero; shift = 126 - e in 14..24 ----
    wire [23:0] m = {1'b1, ax[22:0]};
    wire [7:0]  shift8 = 8'd126 - ax[30:23];
    wire [4:0]  shift = shift8[4:0];         // 14..24 where it is used
    wire [23:0] q_sub = m >> shift;
    wire [23:0] rem = m & ~({24{1'b1}} << shift);
    wire [23:0] half = 24'd1 << (shift - 5'd1);
    wire        up = (rem > half) || ((rem == half) && q_sub[0]);
    wire [10:0] h_sub = q_sub[10:0] + {10'd0, up};  // <= 0x400 (rounds up to 2^-14 at most)

    // ---- normal range: round at bit 13, rebias ----
    wire [30:0] r = ax + 31'h0fff + {30'd0, ax[13]};
    wire [30:0] r_rb = r - 31'h3800_0000;

    // bits that are zero, or not needed, where each value is used
    wire unused = &{1'b0, shift8[7:5], q_sub[23:11], r_rb[30:28], r_rb[12:0]};

    reg [15:0] h_c;
    always @(*) begin
        if (ax > 31'h7f80_0000)
            h_c = {s, 5'h1f, 1'b1, ax[21:13]};       // NaN: quiet, top payload bits
        else if (ax >= 31'h477f_f000)
            h_c = {s, 15'h7c00};                    // >= 65520, inf included
        else if (ax < 31'h3300_0000)
            h_c = {s, 15'd0};                       // below 2^-25 (2^-25 itself ties to 0)
        else if (ax < 31'h3880_0000)
            h_c = {s, 4'd0, h_sub};
        else
            h_c = {s, r_rb[27:13]};
    end

    fp_pipe #(.W(16), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data(h_c), .out_valid(out_valid), .out_data(h));
endmodule

`default_nettype wire
