// hw/fp/fp32_mul.v: IEEE 754 binary32 multiply, round to nearest even, as C `a * b` on x86-64.
//
// Full subnormal support (no flush to zero, no denormals-are-zero). NaN results follow x86 SSE
// (mulss a, b): a NaN operand comes back quieted (bit 22 set, payload and sign kept), `a` first
// when both are NaN; an invalid operation (0 * inf) gives the default NaN 0xffc00000.
// Combinational core plus LATENCY output register stages (fp_pipe): result LATENCY cycles after
// in_valid, one operation per cycle.
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
    // ---- unpack ----
    wire       sa = a[31], sb = b[31];
    wire [7:0] ea = a[30:23], eb = b[30:23];
    wire       a_nan = (ea == 8'hff) && (a[22:0] != 23'd0);
    wire       b_nan = (eb == 8'hff) && (b[22:0] != 23'd0);
    wire       a_inf = (ea == 8'hff) && (a[22:0] == 23'd0);
    wire       b_inf = (eb == 8'hff) && (b[22:0] == 23'd0);
    wire       a_zero = (a[30:0] == 31'd0);
    wire       b_zero = (b[30:0] == 31'd0);
    wire       s = sa ^ sb;

    // subnormals: exponent 1, no hidden bit
    wire [23:0] ma = {(ea != 8'd0), a[22:0]};
    wire [23:0] mb = {(eb != 8'd0), b[22:0]};
    wire [7:0]  ea1 = (ea == 8'd0) ? 8'd1 : ea;
    wire [7:0]  eb1 = (eb == 8'd0) ? 8'd1 : eb;

    // ---- exact product: 48 bits, bit 47 weighs 2^(ea1 + eb1 - 127 + 1 - 127) ----
    wire [47:0] p = ma * mb;
    wire [11:0] e_p = {4'd0, ea1} + {4'd0, eb1} - 12'd126;

    wire [31:0] y_fin;
    fp32_round_pack #(.W(48), .EW(12)) u_rp (.sign(s), .exp(e_p), .sig(p), .y(y_fin));

    // ---- special operands ----
    reg [31:0] y_c;
    always @(*) begin
        if (a_nan)
            y_c = a | 32'h0040_0000;
        else if (b_nan)
            y_c = b | 32'h0040_0000;
        else if ((a_inf && b_zero) || (b_inf && a_zero))
            y_c = 32'hffc0_0000;
        else if (a_inf || b_inf)
            y_c = {s, 8'hff, 23'd0};
        else
            y_c = y_fin;  // zeros included: p == 0 packs a signed zero
    end

    fp_pipe #(.W(32), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data(y_c), .out_valid(out_valid), .out_data(y));
endmodule

`default_nettype wire
