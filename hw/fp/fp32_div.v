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

`include "fp32_div_setup.vh"

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
