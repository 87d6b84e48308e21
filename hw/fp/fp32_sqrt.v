// hw/fp/fp32_sqrt.v: IEEE 754 binary32 square root, correctly rounded (RNE), as C `sqrtf(a)`
// on x86-64 (sqrtss). Sequential: one root bit per cycle (digit-by-digit integer square root),
// for the one square root per token row of the RMSNorm prologue (docs/numerics.md).
//
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
    function automatic [4:0] lzc24(input [23:0] v);
        integer bi;
        reg found;
        begin
            lzc24 = 5'd24;
            found = 1'b0;
            for (bi = 23; bi >= 0; bi = bi - 1) begin
                if (!found && v[bi]) begin
                    lzc24 = 5'd23 - bi[4:0];
                    found = 1'b1;
                end
            end
        end
    endfunction

    // ---- unpack, normalise, make the exponent even ----
    wire        a_nan = (a[30:23] == 8'hff) && (a[22:0] != 23'd0);
    wire        a_inf = (a[30:23] == 8'hff) && (a[22:0] == 23'd0);
    wire        a_zero = (a[30:0] == 31'd0);
    wire [23:0] ma = {(a[30:23] != 8'd0), a[22:0]};
    wire [4:0]  lz = lzc24(ma);
    wire [23:0] ma_n = ma << lz;
    // biased exponent after normalisation, signed (subnormals: 1 - shift)
    wire [11:0] e_n = {4'd0, (a[30:23] == 8'd0) ? 8'd1 : a[30:23]} - {7'd0, lz};
    // value = R * 2^-23 * 2^E2, E2 = e_n - 127 made even
    wire        e_even = ~e_n[0];                    // e_n even <=> e_n - 127 odd
    wire [24:0] r_sig = e_even ? {ma_n, 1'b0} : {1'b0, ma_n};
    wire [11:0] e2 = e_even ? e_n - 12'd128 : e_n - 12'd127;
    wire [11:0] e_res = {e2[11], e2[11:1]} + 12'd127;  // E2 / 2 + 127
    wire        unused_e2 = e2[0];                       // always 0

    reg        special;
    reg [31:0] y_special;
    always @(*) begin
        special = 1'b1;
        if (a_nan)
            y_special = a | 32'h0040_0000;
        else if (a_zero)
            y_special = a;                            // +-0
        else if (a[31])
            y_special = 32'hffc0_0000;                // negative, -inf included
        else if (a_inf)
            y_special = a;
        else begin
            special = 1'b0;
            y_special = 32'd0;
        end
    end

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

    wire [31:0] y_fin;
    fp32_round_pack #(.W(27), .EW(12)) u_rp (
        .sign(1'b0), .exp(e_q), .sig({root, rem != 29'd0}), .y(y_fin));

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
            y <= sp ? y_sp : y_fin;
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
            rad <= {r_sig, 27'd0};
            rem <= 29'd0;
            root <= 26'd0;
            e_q <= e_res;
            sp <= special;
            y_sp <= y_special;
        end
    end
    assign busy = run | fin;
endmodule

`default_nettype wire
