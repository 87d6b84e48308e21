// hw/fp/fp32_div.v: IEEE 754 binary32 divide, correctly rounded (RNE), as C `a / b` on x86-64
// (divss). Sequential: one quotient bit per cycle (restoring division), for the handful of
// divisions per call the contract has (docs/numerics.md: 1/sqrt, 127/amax, amax/127, SiLU).
//
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
    // ---- unpack and normalise (combinational, on the start operands) ----
    function automatic [4:0] lzc24(input [23:0] lz_in);
        integer bi;
        reg found;
        begin
            lzc24 = 5'd24;
            found = 1'b0;
            for (bi = 23; bi >= 0; bi = bi - 1) begin
                if (!found && lz_in[bi]) begin
                    lzc24 = 5'd23 - bi[4:0];
                    found = 1'b1;
                end
            end
        end
    endfunction

    wire        a_nan = (a[30:23] == 8'hff) && (a[22:0] != 23'd0);
    wire        b_nan = (b[30:23] == 8'hff) && (b[22:0] != 23'd0);
    wire        a_inf = (a[30:23] == 8'hff) && (a[22:0] == 23'd0);
    wire        b_inf = (b[30:23] == 8'hff) && (b[22:0] == 23'd0);
    wire        a_zero = (a[30:0] == 31'd0);
    wire        b_zero = (b[30:0] == 31'd0);
    wire        s = a[31] ^ b[31];
    wire [23:0] ma = {(a[30:23] != 8'd0), a[22:0]};
    wire [23:0] mb = {(b[30:23] != 8'd0), b[22:0]};
    wire [4:0]  lza = lzc24(ma);
    wire [4:0]  lzb = lzc24(mb);
    wire [23:0] ma_n = ma << lza;  // bit 23 set (finite nonzero operands)
    wire [23:0] mb_n = mb << lzb;
    // effective biased exponents after normalisation (subnormals: 1 - shift)
    wire [11:0] ea_n = {4'd0, (a[30:23] == 8'd0) ? 8'd1 : a[30:23]} - {7'd0, lza};
    wire [11:0] eb_n = {4'd0, (b[30:23] == 8'd0) ? 8'd1 : b[30:23]} - {7'd0, lzb};

    reg        special;
    reg [31:0] y_special;
    always @(*) begin
        special = 1'b1;
        if (a_nan)
            y_special = a | 32'h0040_0000;
        else if (b_nan)
            y_special = b | 32'h0040_0000;
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
    end

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

    // ---- pack: sig = {Q, sticky}, bit 27 weighs 2^(e_q - 127) ----
    wire [31:0] y_fin;
    fp32_round_pack #(.W(28), .EW(12)) u_rp (
        .sign(sgn), .exp(e_q), .sig({q, rem != 25'd0}), .y(y_fin));

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
            rem <= {1'b0, ma_n};
            div <= special ? 24'h80_0000 : mb_n;
            q <= 27'd0;
            sgn <= s;
            e_q <= ea_n - eb_n + 12'd127;
            sp <= special;
            y_sp <= y_special;
        end
    end
    assign busy = run | fin;
endmodule

`default_nettype wire
