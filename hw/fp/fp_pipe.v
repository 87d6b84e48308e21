// hw/fp/fp_pipe.v: a fixed-latency delay line (data plus valid) for the fp32 units.
//
// The fp units are combinational cores followed by LATENCY register stages (fp_pipe): the
// synthesis tool retimes the registers into the core (Vivado: retiming on, or the stages are
// moved by hand later). LATENCY = 0 is a plain wire (clk unused). The valid bits start at 0
// (an FPGA initial value; no reset port). A stage's data register loads only with its valid
// bit (a clock enable): out_data is the entry's while out_valid is high and holds otherwise,
// and a simulator skips the copies in idle cycles.
`default_nettype none

module fp_pipe #(
    parameter integer W = 32,
    parameter integer LATENCY = 0
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [W-1:0] in_data,
    output wire         out_valid,
    output wire [W-1:0] out_data
);
    generate
        if (LATENCY == 0) begin : g_wire
            // clk is unused when there are no stages
            wire unused_clk = clk;
            assign out_valid = in_valid;
            assign out_data  = in_data;
        end else begin : g_regs
            // stage i at bits W*i +: W; the newest entry at stage 0
            wire [W*LATENCY-1:0] d;
            reg  [LATENCY-1:0]   v;
            initial v = {LATENCY{1'b0}};
            if (LATENCY == 1) begin : g_v1
                always @(posedge clk)
                    v <= in_valid;
            end else begin : g_vn
                always @(posedge clk)
                    v <= {v[LATENCY-2:0], in_valid};
            end
            genvar gi;
            for (gi = 0; gi < LATENCY; gi = gi + 1) begin : g_st
                reg [W-1:0] r;
                if (gi == 0) begin : g_first
                    always @(posedge clk)
                        if (in_valid)
                            r <= in_data;
                end else begin : g_next
                    always @(posedge clk)
                        if (v[gi-1])
                            r <= d[W*(gi-1) +: W];
                end
                assign d[W*gi +: W] = r;
            end
            assign out_valid = v[LATENCY-1];
            assign out_data  = d[W*LATENCY-1 -: W];
        end
    endgenerate
endmodule

`default_nettype wire
