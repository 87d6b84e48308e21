// hw/fp/fp32_div.v: IEEE 754 binary32 divide, correctly rounded (RNE), as C `a / b` on x86-64
// (divss). Sequential: one quotient bit per cycle (restoring division), for the handful of
// divisions per call the contract has (docs/numerics.md: 1/sqrt, 127/amax, amax/127, SiLU).
//
// The operands are unpacked in the start cycle and the result packed in the last (functions
// called from the clocked block: a simulator evaluates them only then).
// start (while !busy) takes a and b; done pulses with y DIV_CYCLES = 29 cycles later; busy is
// high in between (a start while busy is ignored). Subnormals in and out (no flush). NaN as x86:
// a NaN operand comes back quieted, a's first; 0/0 and inf/inf give 0xffc00000; x/0 = inf,
// inf/x = inf, x/inf = 0, 0/x = 0 with the xor of the signs.
`default_nettype none

module fp32_div (
    input  wire        clk,
    input  wire        rst,    // synchronous, active high
    input  wire        start,
    input  wire [31:0] a,
    input  wire [31:0] b,
    output wire        busy,
    output reg         done,
    output reg  [31:0] y
);
    localparam integer RP_W = 28, RP_EW = 12;
`include "fp32_round_pack.vh"

    // leading zeros of a nonzero 24-bit significand (binary search)
    function automatic [4:0] lzc24(input [23:0] lz_in);
        reg [23:0] v;
        begin
            v = lz_in;
            lzc24 = 5'd0;
            if (v[23:8] == 16'd0) begin lzc24 = lzc24 + 5'd16; v = {v[7:0], 16'd0}; end
            if (v[23:16] == 8'd0) begin lzc24 = lzc24 + 5'd8; v = {v[15:0], 8'd0}; end
            if (v[23:20] == 4'd0) begin lzc24 = lzc24 + 5'd4; v = {v[19:0], 4'd0}; end
            if (v[23:22] == 2'd0) begin lzc24 = lzc24 + 5'd2; v = {v[21:0], 2'd0}; end
            if (v[23] == 1'b0) lzc24 = lzc24 + 5'd1;
        end
    endfunction

    // ---- unpack and normalise the start operands: {special, y_special, sign, e, ma_n, div};
    // evaluated in the start cycle only ----
    function automatic [93:0] div_setup(input [31:0] fa, input [31:0] fb);
        reg        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero, s, special;
        reg [23:0] ma, mb, ma_n, mb_n;
        reg [4:0]  lza, lzb;
        reg [11:0] ea_n, eb_n;
        reg [31:0] y_special;
        begin
            a_nan = (fa[30:23] == 8'hff) && (fa[22:0] != 23'd0);
            b_nan = (fb[30:23] == 8'hff) && (fb[22:0] != 23'd0);
            a_inf = (fa[30:23] == 8'hff) && (fa[22:0] == 23'd0);
            b_inf = (fb[30:23] == 8'hff) && (fb[22:0] == 23'd0);
            a_zero = (fa[30:0] == 31'd0);
            b_zero = (fb[30:0] == 31'd0);
            s = fa[31] ^ fb[31];
            ma = {(fa[30:23] != 8'd0), fa[22:0]};
            mb = {(fb[30:23] != 8'd0), fb[22:0]};
            lza = lzc24(ma);
            lzb = lzc24(mb);
            ma_n = ma << lza;  // bit 23 set (finite nonzero operands)
            mb_n = mb << lzb;
            // effective biased exponents after normalisation (subnormals: 1 - shift)
            ea_n = {4'd0, (fa[30:23] == 8'd0) ? 8'd1 : fa[30:23]} - {7'd0, lza};
            eb_n = {4'd0, (fb[30:23] == 8'd0) ? 8'd1 : fb[30:23]} - {7'd0, lzb};
            special = 1'b1;
            if (a_nan)
                y_special = fa | 32'h0040_0000;
            else if (b_nan)
                y_special = fb | 32'h0040_0000;
            else if ((a_zero && b_zero) || (a_inf && b_inf))
                y_special = 32'hffc0_0000;
            else if (a_inf || b_zero)
                y_special = {s, 8'hff, 23'd0};
            else if (a_zero || b_inf)
                y_special = {s, 31'd0};
            else begin
                special = 1'b0;
                y_special = 32'd0;
            end
            div_setup = {special, y_special, s, ea_n - eb_n + 12'd127, ma_n,
                         special ? 24'h80_0000 : mb_n};
        end
    endfunction

    // ---- iteration: Q = floor(ma_n * 2^26 / mb_n), 27 bits, MSB first ----
    reg        run;
    reg [4:0]  step;   // quotient bit being produced, 26 .. 0
    reg [24:0] rem;    // < 2 * mb
    reg [23:0] div;
    reg [26:0] q;
    reg        sgn;
    reg [11:0] e_q;
    reg        fin;    // one cycle to pack the result
    reg        sp;     // special operands: the result is y_sp
    reg [31:0] y_sp;

    wire       ge = (rem >= {1'b0, div});
    wire [24:0] rem_sub = ge ? rem - {1'b0, div} : rem;

    initial begin
        run = 1'b0;
        fin = 1'b0;
        done = 1'b0;
    end

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            run <= 1'b0;
            fin <= 1'b0;
        end else if (fin) begin
            fin <= 1'b0;
            done <= 1'b1;
            // pack: sig = {Q, sticky}, bit 27 weighs 2^(e_q - 127)
            y <= sp ? y_sp : fp32_rp(sgn, e_q, {q, rem != 25'd0});
        end else if (run) begin
            q <= {q[25:0], ge};
            rem <= (step == 5'd0) ? rem_sub : {rem_sub[23:0], 1'b0};
            if (step == 5'd0) begin
                run <= 1'b0;
                fin <= 1'b1;
            end
            step <= step - 5'd1;
        end else if (start) begin
            // special operands run the same number of cycles (a fixed latency is simpler)
            run <= 1'b1;
            step <= 5'd26;
            q <= 27'd0;
            {sp, y_sp, sgn, e_q, rem[23:0], div} <= div_setup(a, b);
            rem[24] <= 1'b0;
        end
    end
    assign busy = run | fin;
endmodule

`default_nettype wire
