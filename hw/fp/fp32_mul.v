// hw/fp/fp32_mul.v: IEEE 754 binary32 multiply, round to nearest even, as C `a * b` on x86-64.
//
// Full subnormal support (no flush to zero, no denormals-are-zero). NaN results follow x86 SSE
// (mulss a, b): a NaN operand comes back quieted (bit 22 set, payload and sign kept), `a` first
// when both are NaN; an invalid operation (0 * inf) gives the default NaN 0xffc00000.
// The arithmetic (function fp32_mul_f) feeds LATENCY register stages: result LATENCY cycles
// after in_valid, one operation per cycle; the first stage computes it under in_valid (a clock
// enable, so a simulator skips it in idle cycles), fp_pipe the rest. LATENCY = 0: combinational.
`default_nettype none

module fp32_mul #(
    parameter integer LATENCY = 2
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] a,
    input  wire [31:0] b,
    output wire        out_valid,
    output wire [31:0] y
);
    localparam integer RP_W = 48, RP_EW = 12;
`include "fp32_round_pack.vh"

    function automatic [31:0] fp32_mul_f(input [31:0] fa, input [31:0] fb);
        reg        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero, s;
        reg [23:0] ma, mb;
        reg [7:0]  ea1, eb1;
        reg [47:0] p;
        reg [11:0] e_p;
        begin
            // ---- unpack ----
            a_nan = (fa[30:23] == 8'hff) && (fa[22:0] != 23'd0);
            b_nan = (fb[30:23] == 8'hff) && (fb[22:0] != 23'd0);
            a_inf = (fa[30:23] == 8'hff) && (fa[22:0] == 23'd0);
            b_inf = (fb[30:23] == 8'hff) && (fb[22:0] == 23'd0);
            a_zero = (fa[30:0] == 31'd0);
            b_zero = (fb[30:0] == 31'd0);
            s = fa[31] ^ fb[31];
            // ---- special operands ----
            if (a_nan)
                fp32_mul_f = fa | 32'h0040_0000;
            else if (b_nan)
                fp32_mul_f = fb | 32'h0040_0000;
            else if ((a_inf && b_zero) || (b_inf && a_zero))
                fp32_mul_f = 32'hffc0_0000;
            else if (a_inf || b_inf)
                fp32_mul_f = {s, 8'hff, 23'd0};
            else begin
                // subnormals: exponent 1, no hidden bit; exact 48-bit product, bit 47 weighs
                // 2^(ea1 + eb1 - 127 + 1 - 127); zeros: p == 0 packs a signed zero
                ma = {(fa[30:23] != 8'd0), fa[22:0]};
                mb = {(fb[30:23] != 8'd0), fb[22:0]};
                ea1 = (fa[30:23] == 8'd0) ? 8'd1 : fa[30:23];
                eb1 = (fb[30:23] == 8'd0) ? 8'd1 : fb[30:23];
                p = {24'd0, ma} * {24'd0, mb};
                e_p = {4'd0, ea1} + {4'd0, eb1} - 12'd126;
                fp32_mul_f = fp32_rp(s, e_p, p);
            end
        end
    endfunction

`include "fp_stages.vh"
    `FL_FP_STAGES(y, 32, fp32_mul_f(a, b))
endmodule

`default_nettype wire
