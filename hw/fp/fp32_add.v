// hw/fp/fp32_add.v: IEEE 754 binary32 add, round to nearest even, as C `a + b` on x86-64.
//
// Full subnormal support (no flush to zero). Exact zero sums are +0 unless both operands are -0
// (round to nearest). NaN results follow x86 SSE (addss a, b): a NaN operand comes back quieted
// (bit 22 set, payload and sign kept), `a` first when both are NaN; inf + -inf gives the default
// NaN 0xffc00000. Subtraction is a + (b ^ 0x80000000) outside this unit.
// Combinational core plus LATENCY output register stages (fp_pipe): result LATENCY cycles after
// in_valid, one operation per cycle.
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
    // ---- unpack ----
    wire       a_nan = (a[30:23] == 8'hff) && (a[22:0] != 23'd0);
    wire       b_nan = (b[30:23] == 8'hff) && (b[22:0] != 23'd0);
    wire       a_inf = (a[30:23] == 8'hff) && (a[22:0] == 23'd0);
    wire       b_inf = (b[30:23] == 8'hff) && (b[22:0] == 23'd0);

    // order by magnitude: x is the larger |.|, z the smaller
    wire        swap = (b[30:0] > a[30:0]);
    wire [31:0] x = swap ? b : a;
    wire [31:0] z = swap ? a : b;
    wire [7:0]  ex = (x[30:23] == 8'd0) ? 8'd1 : x[30:23];
    wire [7:0]  ez = (z[30:23] == 8'd0) ? 8'd1 : z[30:23];
    wire [23:0] mx = {(x[30:23] != 8'd0), x[22:0]};
    wire [23:0] mz = {(z[30:23] != 8'd0), z[22:0]};
    wire        sub = x[31] ^ z[31];

    // ---- align: 24-bit significands plus 26 guard bits; bits shifted out become a sticky LSB ----
    wire [7:0]  d = ex - ez;  // >= 0
    wire        d_big = (d >= 8'd50);
    wire [49:0] zx = {mz, 26'd0};
    wire [49:0] z_sh = d_big ? 50'd0 : (zx >> d);
    wire [49:0] z_lostmask = d_big ? {50{1'b1}} : ~({50{1'b1}} << d);
    wire        z_sticky = |(zx & z_lostmask);
    wire [50:0] zz = {1'b0, z_sh[49:1], z_sh[0] | z_sticky};
    wire [50:0] xx = {1'b0, mx, 26'd0};
    wire [50:0] sum = sub ? (xx - zz) : (xx + zz);  // >= 0 since |x| >= |z|

    // bit 50 of sum weighs 2^(ex - 127 + 1)
    wire [11:0] e_s = {4'd0, ex} + 12'd1;
    wire        s_zero = (sum == 51'd0);
    // exact zero: +0 unless both operands are -0
    wire        sgn = s_zero ? (a[31] & b[31]) : x[31];

    wire [31:0] y_fin;
    fp32_round_pack #(.W(51), .EW(12)) u_rp (.sign(sgn), .exp(e_s), .sig(sum), .y(y_fin));

    // ---- special operands ----
    reg [31:0] y_c;
    always @(*) begin
        if (a_nan)
            y_c = a | 32'h0040_0000;
        else if (b_nan)
            y_c = b | 32'h0040_0000;
        else if (a_inf && b_inf && (a[31] != b[31]))
            y_c = 32'hffc0_0000;
        else if (a_inf)
            y_c = a;
        else if (b_inf)
            y_c = b;
        else
            y_c = y_fin;
    end

    fp_pipe #(.W(32), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data(y_c), .out_valid(out_valid), .out_data(y));
endmodule

`default_nettype wire
