// hw/fp/fp32_sqrt.v: IEEE 754 binary32 square root, correctly rounded (RNE), as C `sqrtf(a)`
// on x86-64 (sqrtss). Sequential: one root bit per cycle (digit-by-digit integer square root),
// for the one square root per token row of the RMSNorm prologue (docs/numerics.md).
//
// The operand is unpacked in the start cycle and the result packed in the last (functions
// called from the clocked block: a simulator evaluates them only then).
// start (while !busy) takes a; done pulses with y SQRT_CYCLES = 28 cycles later; busy in between
// (a start while busy is ignored). Subnormal inputs are normalised (no flush). sqrt(-0) = -0,
// sqrt(+inf) = +inf, a NaN comes back quieted, sqrt of a negative number gives 0xffc00000.
`default_nettype none

module fp32_sqrt (
    input  wire        clk,
    input  wire        rst,    // synchronous, active high
    input  wire        start,
    input  wire [31:0] a,
    output wire        busy,
    output reg         done,
    output reg  [31:0] y
);
    localparam integer RP_W = 27, RP_EW = 12;
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

    // ---- unpack, normalise, make the exponent even: {special, y_special, e_res, r_sig};
    // evaluated in the start cycle only ----
    function automatic [69:0] sqrt_setup(input [31:0] fa);
        reg        a_nan, a_inf, a_zero, e_even, special;
        reg [23:0] ma, ma_n;
        reg [4:0]  lz;
        reg [11:0] e_n;
        /* verilator lint_off UNUSED */
        reg [11:0] e2;  // bit 0 is 0
        /* verilator lint_on UNUSED */
        reg [31:0] y_special;
        begin
            a_nan = (fa[30:23] == 8'hff) && (fa[22:0] != 23'd0);
            a_inf = (fa[30:23] == 8'hff) && (fa[22:0] == 23'd0);
            a_zero = (fa[30:0] == 31'd0);
            ma = {(fa[30:23] != 8'd0), fa[22:0]};
            lz = lzc24(ma);
            ma_n = ma << lz;
            // biased exponent after normalisation, signed (subnormals: 1 - shift)
            e_n = {4'd0, (fa[30:23] == 8'd0) ? 8'd1 : fa[30:23]} - {7'd0, lz};
            // value = R * 2^-23 * 2^E2, E2 = e_n - 127 made even (e2[0] is then 0)
            e_even = ~e_n[0];                    // e_n even <=> e_n - 127 odd
            e2 = e_even ? e_n - 12'd128 : e_n - 12'd127;
            special = 1'b1;
            if (a_nan)
                y_special = fa | 32'h0040_0000;
            else if (a_zero)
                y_special = fa;                           // +-0
            else if (fa[31])
                y_special = 32'hffc0_0000;                // negative, -inf included
            else if (a_inf)
                y_special = fa;
            else begin
                special = 1'b0;
                y_special = 32'd0;
            end
            // E2 / 2 + 127
            sqrt_setup = {special, y_special, {e2[11], e2[11:1]} + 12'd127,
                          e_even ? {ma_n, 1'b0} : {1'b0, ma_n}};
        end
    endfunction

    // ---- iteration: S = floor(sqrt(R << 27)), 26 bits, MSB first ----
    reg        run, fin, sp;
    reg [4:0]  step;    // root bit being produced, 25 .. 0
    reg [51:0] rad;     // radicand, consumed two bits per step from the top
    reg [28:0] rem;     // <= 2 * root < 2^27
    reg [25:0] root;
    reg [11:0] e_q;
    reg [31:0] y_sp;

    wire [30:0] rem_in = {rem, rad[51:50]};
    wire [30:0] trial = {3'd0, root, 2'b01};
    wire [28:0] rem_sub = rem_in[28:0] - trial[28:0];  // exact when ge (result < 2^29)
    wire        ge = (rem_in >= trial);


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
            y <= sp ? y_sp : fp32_rp(1'b0, e_q, {root, rem != 29'd0});
        end else if (run) begin
            rem <= ge ? rem_sub : rem_in[28:0];
            root <= {root[24:0], ge};
            rad <= {rad[49:0], 2'b00};
            if (step == 5'd0) begin
                run <= 1'b0;
                fin <= 1'b1;
            end
            step <= step - 5'd1;
        end else if (start) begin
            run <= 1'b1;
            step <= 5'd25;
            rad[26:0] <= 27'd0;
            rem <= 29'd0;
            root <= 26'd0;
            {sp, y_sp, e_q, rad[51:27]} <= sqrt_setup(a);
        end
    end
    assign busy = run | fin;
endmodule

`default_nettype wire
