// hw/fp/fp32_exp.v: the contract's exp, fl_exp in hls/numerics.h (docs/numerics.md, "exp"),
// bit-exact: integer-only after the exact scaling a = (uint64)(|x| * 2^24).
//
//   NaN -> x unchanged; |x| >= 100 -> +inf (x > 0) or +0 (x < 0);
//   tm = (a * LOG2E_Q32) >> 33; x > 0 and tm >= 128 * 2^23 -> +inf; x < 0 and tm > 126 * 2^23
//   -> +0 (no subnormal results); u = 126 * 2^23 -/+ tm, n = (u >> 23) - 126, f = u mod 2^23;
//   2^f = T[f >> 17] * p(r), p the cubic of z = r ln 2 (r = f mod 2^17), all unsigned 64-bit
//   with truncating shifts; mant = (m + 64) >> 7 (renormalised if it reaches 2^24).
// T is the 64-entry table fl_exp2_table (round(2^(i/64) * 2^30)); the testbench covers every
// entry. The arithmetic (three 64-bit products in a chain) feeds LATENCY register stages.
`default_nettype none

module fp32_exp #(
    parameter integer LATENCY = 4
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] x,
    output wire        out_valid,
    output wire [31:0] y
);
    localparam [63:0] LOG2E_Q32 = 64'd6196328019;  // round(log2(e) * 2^32)
    localparam [63:0] LN2_Q32 = 64'd2977044472;    // round(ln 2 * 2^32)
    localparam [63:0] SIXTH_Q32 = 64'd715827883;   // round(2^32 / 6)

    function automatic [30:0] exp2_t(input [5:0] i);
        begin
            case (i)
            6'd0: exp2_t = 31'd1073741824;
            6'd1: exp2_t = 31'd1085434106;
            6'd2: exp2_t = 31'd1097253708;
            6'd3: exp2_t = 31'd1109202018;
            6'd4: exp2_t = 31'd1121280436;
            6'd5: exp2_t = 31'd1133490379;
            6'd6: exp2_t = 31'd1145833280;
            6'd7: exp2_t = 31'd1158310587;
            6'd8: exp2_t = 31'd1170923762;
            6'd9: exp2_t = 31'd1183674286;
            6'd10: exp2_t = 31'd1196563654;
            6'd11: exp2_t = 31'd1209593378;
            6'd12: exp2_t = 31'd1222764986;
            6'd13: exp2_t = 31'd1236080024;
            6'd14: exp2_t = 31'd1249540052;
            6'd15: exp2_t = 31'd1263146652;
            6'd16: exp2_t = 31'd1276901417;
            6'd17: exp2_t = 31'd1290805962;
            6'd18: exp2_t = 31'd1304861917;
            6'd19: exp2_t = 31'd1319070932;
            6'd20: exp2_t = 31'd1333434672;
            6'd21: exp2_t = 31'd1347954824;
            6'd22: exp2_t = 31'd1362633090;
            6'd23: exp2_t = 31'd1377471191;
            6'd24: exp2_t = 31'd1392470869;
            6'd25: exp2_t = 31'd1407633882;
            6'd26: exp2_t = 31'd1422962010;
            6'd27: exp2_t = 31'd1438457051;
            6'd28: exp2_t = 31'd1454120821;
            6'd29: exp2_t = 31'd1469955159;
            6'd30: exp2_t = 31'd1485961921;
            6'd31: exp2_t = 31'd1502142985;
            6'd32: exp2_t = 31'd1518500250;
            6'd33: exp2_t = 31'd1535035634;
            6'd34: exp2_t = 31'd1551751076;
            6'd35: exp2_t = 31'd1568648537;
            6'd36: exp2_t = 31'd1585730000;
            6'd37: exp2_t = 31'd1602997467;
            6'd38: exp2_t = 31'd1620452965;
            6'd39: exp2_t = 31'd1638098541;
            6'd40: exp2_t = 31'd1655936265;
            6'd41: exp2_t = 31'd1673968228;
            6'd42: exp2_t = 31'd1692196547;
            6'd43: exp2_t = 31'd1710623359;
            6'd44: exp2_t = 31'd1729250827;
            6'd45: exp2_t = 31'd1748081133;
            6'd46: exp2_t = 31'd1767116489;
            6'd47: exp2_t = 31'd1786359126;
            6'd48: exp2_t = 31'd1805811301;
            6'd49: exp2_t = 31'd1825475297;
            6'd50: exp2_t = 31'd1845353420;
            6'd51: exp2_t = 31'd1865448001;
            6'd52: exp2_t = 31'd1885761398;
            6'd53: exp2_t = 31'd1906295993;
            6'd54: exp2_t = 31'd1927054196;
            6'd55: exp2_t = 31'd1948038440;
            6'd56: exp2_t = 31'd1969251188;
            6'd57: exp2_t = 31'd1990694927;
            6'd58: exp2_t = 31'd2012372174;
            6'd59: exp2_t = 31'd2034285470;
            6'd60: exp2_t = 31'd2056437387;
            6'd61: exp2_t = 31'd2078830522;
            6'd62: exp2_t = 31'd2101467502;
            6'd63: exp2_t = 31'd2124350982;
            default: exp2_t = 31'd0;
            endcase
        end
    endfunction

    // ---- the arithmetic of one operand ----
    function automatic [31:0] fp32_exp_f(input [31:0] fx);
        reg        neg, left, carry;
        reg [7:0]  e, e1;
        reg [23:0] msig;
        reg [63:0] a, tm, z, z2, z3, p, mq;
        // products and sums whose bits outside the ranges used are zero or not needed
        /* verilator lint_off UNUSED */
        reg [63:0] a_l2e, rz, zz, zzz, z3s, tp, mr;
        reg [7:0]  lsh, rsh;
        /* verilator lint_on UNUSED */
        reg [31:0] u;
        reg [8:0]  ni;
        reg [22:0] f, frac;
        reg [24:0] mant0;
        reg [9:0]  eb;
        begin
            // a = floor(|x| * 2^24) for |x| < 100 (biased exponent <= 133)
            neg = fx[31];
            e = fx[30:23];
            msig = {(e != 8'd0), fx[22:0]};
            e1 = (e == 8'd0) ? 8'd1 : e;      // |x| = msig * 2^(e1 - 150)
            // floor(msig * 2^(e1 - 126)): left shift by e1 - 126 (<= 7) or right by 126 - e1
            left = (e1 >= 8'd126);
            lsh = e1 - 8'd126;
            rsh = 8'd126 - e1;
            a = left ? ({40'd0, msig} << lsh[2:0])
              : (rsh >= 8'd24) ? 64'd0 : ({40'd0, msig} >> rsh[4:0]);
            // |x| log2 e in Q.23, u, n, f
            a_l2e = a * LOG2E_Q32;
            tm = {33'd0, a_l2e[63:33]};
            u = neg ? (32'd126 << 23) - tm[31:0] : (32'd126 << 23) + tm[31:0];
            ni = u[31:23];                      // n + 126, 0..253
            f = u[22:0];
            // 2^f: table times the cubic
            rz = {47'd0, f[16:0]} * LN2_Q32;
            z = {23'd0, rz[63:23]};
            zz = z * z;
            z2 = {32'd0, zz[63:32]};
            zzz = z2 * z;
            z3 = {32'd0, zzz[63:32]};
            z3s = z3 * SIXTH_Q32;
            p = (64'd1 << 32) + z + {1'b0, z2[63:1]} + {32'd0, z3s[63:32]};
            tp = {33'd0, exp2_t(f[22:17])} * p;
            mq = {32'd0, tp[63:32]};            // Q1.30
            mr = mq + 64'd64;
            mant0 = mr[31:7];                   // 2^23 .. 2^24
            carry = mant0[24];
            frac = carry ? mant0[23:1] : mant0[22:0];
            // biased exponent n + 127 = ni + 1 (+ 1 on carry)
            eb = {1'b0, ni} + 10'd1 + {9'd0, carry};
            if (e == 8'hff && fx[22:0] != 23'd0)
                fp32_exp_f = fx;                                // NaN: returned as is
            else if (fx[30:0] >= 31'h42c8_0000)                 // |x| >= 100, inf included
                fp32_exp_f = neg ? 32'd0 : 32'h7f80_0000;
            else if (!neg && tm >= (64'd128 << 23))
                fp32_exp_f = 32'h7f80_0000;
            else if (neg && tm > (64'd126 << 23))
                fp32_exp_f = 32'd0;
            else if (eb >= 10'd255)
                fp32_exp_f = 32'h7f80_0000;
            else
                fp32_exp_f = {1'b0, eb[7:0], frac};
        end
    endfunction

    // output stages: the first under in_valid, fp_pipe the rest (fp_stages.vh)
`include "fp_stages.vh"
    `FL_FP_STAGES(y, 32, fp32_exp_f(x))
endmodule

`default_nettype wire
