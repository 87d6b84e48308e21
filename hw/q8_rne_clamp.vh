// hw/q8_rne_clamp.vh: q8_rne_clamp's arithmetic as a function (fl_rne_clamp127 in
// hls/numerics.h: an fp32 v to an int8, round to nearest with ties to even, clamped to
// [-127, 127], NaN -> 0), `include'd inside a module. q8_rne_clamp.v is this function on wires;
// qmm_q8pool calls it in its clocked output stage (evaluated only for a valid block).
// The C rounds by adding and subtracting 1.5 * 2^23; for |v| < 127 that is exactly the integer
// rounding done here on the significand.
function automatic [7:0] q8_rne_f(input [31:0] rn_v);
    reg [23:0] rn_m, rn_rem, rn_half;
    reg [7:0]  rn_mag;
    // bits zero where each value is used
    /* verilator lint_off UNUSED */
    reg [23:0] rn_ip;
    reg [7:0]  rn_sh8;
    /* verilator lint_on UNUSED */
    reg [4:0]  rn_sh;
    reg        rn_up;
    begin
        if (rn_v[30:23] == 8'hff && rn_v[22:0] != 23'd0)
            q8_rne_f = 8'd0;                                    // NaN
        else if (rn_v[30:0] >= 31'h42fe_0000)                   // |v| >= 127 (inf included)
            q8_rne_f = rn_v[31] ? 8'h81 : 8'h7f;
        else if (rn_v[30:23] < 8'd126)                          // |v| < 0.5
            q8_rne_f = 8'd0;
        else begin
            // |v| = m * 2^(e - 150); for 126 <= e <= 133 (0.5 <= |v| < 256) the integer part
            // is m >> sh, sh = 150 - e in 17..24
            rn_m = {1'b1, rn_v[22:0]};
            rn_sh8 = 8'd150 - rn_v[30:23];
            rn_sh = rn_sh8[4:0];
            rn_ip = rn_m >> rn_sh;
            rn_rem = rn_m & ~({24{1'b1}} << rn_sh);
            rn_half = 24'd1 << (rn_sh - 5'd1);
            rn_up = (rn_rem > rn_half) || ((rn_rem == rn_half) && rn_ip[0]);
            rn_mag = rn_ip[7:0] + {7'd0, rn_up};                 // <= 127 when |v| < 127
            q8_rne_f = rn_v[31] ? (8'd0 - rn_mag) : rn_mag;
        end
    end
endfunction
