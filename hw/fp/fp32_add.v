// hw/fp/fp32_add.v: IEEE 754 binary32 add, round to nearest even, as C `a + b` on x86-64.
//
// Full subnormal support (no flush to zero). Exact zero sums are +0 unless both operands are -0
// (round to nearest). NaN results follow x86 SSE (addss a, b): a NaN operand comes back quieted
// (bit 22 set, payload and sign kept), `a` first when both are NaN; inf + -inf gives the default
// NaN 0xffc00000. Subtraction is a + (b ^ 0x80000000) outside this unit.
// The arithmetic (function fp32_add_f) feeds LATENCY register stages: result LATENCY cycles
// after in_valid, one operation per cycle; the first stage computes it under in_valid (a clock
// enable, so a simulator skips it in idle cycles), fp_pipe the rest. LATENCY = 0: combinational.
`default_nettype none

module fp32_add #(
    parameter integer LATENCY = 2
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] a,
    input  wire [31:0] b,
    output wire        out_valid,
    output wire [31:0] y
);
    localparam integer RP_W = 51, RP_EW = 12;
`include "fp32_round_pack.vh"

    function automatic [31:0] fp32_add_f(input [31:0] fa, input [31:0] fb);
        reg        a_nan, b_nan, a_inf, b_inf, swap, sub, z_sticky, sgn;
        reg [31:0] x, z;
        reg [7:0]  ex, ez, d;
        reg [23:0] mx, mz;
        reg [49:0] zx, z_sh, z_lostmask;
        reg [50:0] zz, xx, s_sum;
        reg [11:0] e_s;
        begin
            a_nan = (fa[30:23] == 8'hff) && (fa[22:0] != 23'd0);
            b_nan = (fb[30:23] == 8'hff) && (fb[22:0] != 23'd0);
            a_inf = (fa[30:23] == 8'hff) && (fa[22:0] == 23'd0);
            b_inf = (fb[30:23] == 8'hff) && (fb[22:0] == 23'd0);
            if (a_nan)
                fp32_add_f = fa | 32'h0040_0000;
            else if (b_nan)
                fp32_add_f = fb | 32'h0040_0000;
            else if (a_inf && b_inf && (fa[31] != fb[31]))
                fp32_add_f = 32'hffc0_0000;
            else if (a_inf)
                fp32_add_f = fa;
            else if (b_inf)
                fp32_add_f = fb;
            else begin
                // order by magnitude: x is the larger |.|, z the smaller
                swap = (fb[30:0] > fa[30:0]);
                x = swap ? fb : fa;
                z = swap ? fa : fb;
                ex = (x[30:23] == 8'd0) ? 8'd1 : x[30:23];
                ez = (z[30:23] == 8'd0) ? 8'd1 : z[30:23];
                mx = {(x[30:23] != 8'd0), x[22:0]};
                mz = {(z[30:23] != 8'd0), z[22:0]};
                sub = x[31] ^ z[31];
                // align: 24-bit significands plus 26 guard bits; bits shifted out become a
                // sticky LSB
                d = ex - ez;  // >= 0
                zx = {mz, 26'd0};
                if (d >= 8'd50) begin
                    z_sh = 50'd0;
                    z_lostmask = {50{1'b1}};
                end else begin
                    z_sh = zx >> d;
                    z_lostmask = ~({50{1'b1}} << d);
                end
                z_sticky = |(zx & z_lostmask);
                zz = {1'b0, z_sh[49:1], z_sh[0] | z_sticky};
                xx = {1'b0, mx, 26'd0};
                s_sum = sub ? (xx - zz) : (xx + zz);  // >= 0 since |x| >= |z|
                // bit 50 of s_sum weighs 2^(ex - 127 + 1); an exact zero is +0 unless both
                // operands are -0
                e_s = {4'd0, ex} + 12'd1;
                sgn = (s_sum == 51'd0) ? (fa[31] & fb[31]) : x[31];
                fp32_add_f = fp32_rp(sgn, e_s, s_sum);
            end
        end
    endfunction

`include "fp_stages.vh"
    `FL_FP_STAGES(y, 32, fp32_add_f(a, b))
endmodule

`default_nettype wire
