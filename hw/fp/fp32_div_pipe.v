// hw/fp/fp32_div_pipe.v: IEEE 754 binary32 divide, correctly rounded (RNE), as C `a / b` on
// x86-64 (divss): the same arithmetic and results as the sequential fp32_div.v, unrolled into a
// pipeline that takes one division per cycle (for SiLU on every qmatmul output).
//
// Stage 0 unpacks and normalises the operands (subnormals in and out, no flush) and decides the
// special cases (NaN quieted, a's first; 0/0 and inf/inf 0xffc00000; x/0 = inf, inf/x = inf,
// x/inf = 0, 0/x = 0 with the xor of the signs); then 27 restoring-division steps produce the
// quotient Q = floor(ma * 2^26 / mb) one bit each, STEPS_PER_STAGE of them per register stage;
// the last stage rounds and packs (fp32_round_pack) into the output register.
// Latency: 2 + ceil(27 / STEPS_PER_STAGE) cycles (29 with the default 1). No reset: the valid
// bits start at 0, like fp_pipe; each stage's registers load only with its valid bit (a clock
// enable: a simulator skips the idle stages).
`default_nettype none

module fp32_div_pipe #(
    parameter integer STEPS_PER_STAGE = 1  // 1, 3 or 9 (a divisor of 27)
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [31:0] a,
    input  wire [31:0] b,
    output wire        out_valid,
    output wire [31:0] y
);
    localparam integer NST = 27 / STEPS_PER_STAGE;  // iteration stages

    localparam integer RP_W = 28, RP_EW = 12;
`include "fp32_round_pack.vh"

`include "fp32_div_setup.vh"

    // ---- stage 0 registers: the unpacked operands (loaded with in_valid only: every stage's
    // registers are enabled by its valid bit, so a simulator skips idle stages) ----
    reg [24:0] rem0;
    reg [23:0] div0;
    reg        sgn0, sp0, v0;
    reg [11:0] e0;
    reg [31:0] ysp0;
    initial v0 = 1'b0;
    always @(posedge clk) begin
        v0 <= in_valid;
        if (in_valid) begin
            {sp0, ysp0, sgn0, e0, rem0[23:0], div0} <= div_setup(a, b);
            rem0[24] <= 1'b0;
        end
    end

    // STEPS_PER_STAGE restoring steps from quotient bit `top` down: {remainder, quotient}
    function automatic [51:0] steps(input [24:0] rem_in, input [26:0] q_in, input [23:0] dv,
                                    input integer top);
        integer j;
        reg [24:0] t_rem, sub;
        reg [26:0] t_q;
        reg        ge;
        begin
            t_rem = rem_in;
            t_q = q_in;
            for (j = 0; j < STEPS_PER_STAGE; j = j + 1) begin
                ge = (t_rem >= {1'b0, dv});
                sub = ge ? t_rem - {1'b0, dv} : t_rem;
                t_q = {t_q[25:0], ge};
                // the final step (quotient bit 0) keeps the remainder for the sticky bit
                t_rem = (top - j == 0) ? sub : {sub[23:0], 1'b0};
            end
            steps = {t_rem, t_q};
        end
    endfunction

    // ---- iteration stages: slice k of each vector is the state after k stages ----
    wire [25*(NST+1)-1:0] rem_w;
    wire [24*(NST+1)-1:0] div_w;
    wire [27*(NST+1)-1:0] q_w;
    wire [12*(NST+1)-1:0] e_w;
    wire [32*(NST+1)-1:0] ysp_w;
    wire [NST:0]          sgn_w, sp_w, v_w;
    assign rem_w[24:0] = rem0;
    assign div_w[23:0] = div0;
    assign q_w[26:0] = 27'd0;
    assign e_w[11:0] = e0;
    assign ysp_w[31:0] = ysp0;
    assign sgn_w[0] = sgn0;
    assign sp_w[0] = sp0;
    assign v_w[0] = v0;
    genvar gk;
    generate
        for (gk = 0; gk < NST; gk = gk + 1) begin : g_st
            reg [24:0] rem_q;
            reg [23:0] div_q;
            reg [26:0] q_q;
            reg [11:0] e_q;
            reg [31:0] ysp_q;
            reg        sgn_q, sp_q, v_q;
            initial v_q = 1'b0;
            always @(posedge clk) begin
                v_q <= v_w[gk];
                if (v_w[gk]) begin
                    {rem_q, q_q} <= steps(rem_w[25*gk +: 25], q_w[27*gk +: 27],
                                          div_w[24*gk +: 24], 26 - gk * STEPS_PER_STAGE);
                    div_q <= div_w[24*gk +: 24];
                    e_q <= e_w[12*gk +: 12];
                    ysp_q <= ysp_w[32*gk +: 32];
                    sgn_q <= sgn_w[gk];
                    sp_q <= sp_w[gk];
                end
            end
            assign rem_w[25*(gk+1) +: 25] = rem_q;
            assign div_w[24*(gk+1) +: 24] = div_q;
            assign q_w[27*(gk+1) +: 27] = q_q;
            assign e_w[12*(gk+1) +: 12] = e_q;
            assign ysp_w[32*(gk+1) +: 32] = ysp_q;
            assign sgn_w[gk+1] = sgn_q;
            assign sp_w[gk+1] = sp_q;
            assign v_w[gk+1] = v_q;
        end
    endgenerate

    // ---- pack: sig = {Q, sticky}, bit 27 weighs 2^(e - 127) ----
    reg [31:0] y_out;
    reg        v_out;
    initial v_out = 1'b0;
    always @(posedge clk) begin
        v_out <= v_w[NST];
        if (v_w[NST])
            y_out <= sp_w[NST] ? ysp_w[32*NST +: 32]
                   : fp32_rp(sgn_w[NST], e_w[12*NST +: 12],
                             {q_w[27*NST +: 27], rem_w[25*NST +: 25] != 25'd0});
    end
    // the divisor is not needed after the last step
    wire unused = &{1'b0, div_w[24*NST +: 24]};

    assign out_valid = v_out;
    assign y = y_out;
endmodule

`default_nettype wire
