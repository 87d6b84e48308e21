// hw/fp/fp_stages.vh: the output stages every combinational unit of hw/ shares, as a macro
// `include'd inside the unit's module (which has the parameter LATENCY and the ports clk,
// in_valid, out_valid):
//   `FL_FP_STAGES(OUT, WIDTH, EXPR)   OUT (WIDTH bits) = EXPR, LATENCY cycles after in_valid
// LATENCY = 0: combinational. Otherwise the first register stage evaluates EXPR under in_valid
// (a clock enable: a simulator skips the arithmetic in idle cycles; the output holds between
// results) and fp_pipe adds the remaining LATENCY - 1 stages.
`ifndef FL_FP_STAGES_VH
`define FL_FP_STAGES_VH
`define FL_FP_STAGES(FS_OUT, FS_W, FS_EXPR)                                                            \
    generate                                                                                  \
        if (LATENCY == 0) begin : g_comb                                                      \
            wire unused_clk = clk;                                                            \
            assign out_valid = in_valid;                                                      \
            assign FS_OUT = FS_EXPR;                                                                \
        end else begin : g_reg                                                                \
            reg         v0;                                                                   \
            reg [FS_W-1:0] r0;                                                                   \
            initial v0 = 1'b0;                                                                \
            always @(posedge clk) begin                                                       \
                v0 <= in_valid;                                                               \
                if (in_valid)                                                                 \
                    r0 <= FS_EXPR;                                                               \
            end                                                                               \
            fp_pipe #(.W(FS_W), .LATENCY(LATENCY - 1)) u_pipe (                                  \
                .clk(clk), .in_valid(v0), .in_data(r0), .out_valid(out_valid), .out_data(FS_OUT)); \
        end                                                                                   \
    endgenerate
`endif
