// hw/q8_quant32.v: one block of 32 fp32 activations -> Q8_0, as fl_q8_quant(x, 32, q) in
// hls/numerics.h (docs/numerics.md, qmatmul step 2):
//   amax = max |x_i| (NaN ignored), d = amax / 127, id = amax != 0 ? 127 / amax : 0 (IEEE
//   divisions), q_i = fl_rne_clamp127(x_i * id), scale = fp16(d).
// Sequential and small: the two divisions run side by side on two fp32_div units, then one
// fp32_mul and q8_rne_clamp quantize an element per cycle. start (while !busy) takes the block;
// done pulses 63 cycles after the start edge, with q and d valid (held until the next start).
`default_nettype none

module q8_quant32 (
    input  wire          clk,
    input  wire          rst,    // synchronous, active high
    input  wire          start,
    input  wire [1023:0] x,      // (32,) fp32, element i at bits 32i +: 32
    output wire          busy,
    output reg           done,
    output reg  [255:0]  q,      // (32,) int8
    output wire [15:0]   d       // fp16 scale
);
    localparam [31:0] F127 = 32'h42fe_0000;  // 127.0f
    localparam [1:0] S_IDLE = 2'd0, S_AMAX = 2'd1, S_DIV = 2'd2, S_QUANT = 2'd3;

    // ---- amax over the block as it arrives (|x| bits compare as unsigned; NaN skipped) ----
    reg [31:0] amax_c;
    integer i;
    always @(*) begin
        amax_c = 32'd0;
        for (i = 0; i < 32; i = i + 1)
            if (x[32*i +: 31] <= 31'h7f80_0000 && {1'b0, x[32*i +: 31]} > amax_c)
                amax_c = {1'b0, x[32*i +: 31]};
    end

    reg [1:0]    state;
    reg [1023:0] xb;
    reg [31:0]   amax, dq, id;
    reg [4:0]    idx;
    reg          div_go;
    initial begin
        state = S_IDLE;
        done = 1'b0;
        div_go = 1'b0;
    end

    // ---- d = amax / 127 and 127 / amax ----
    wire        d_busy, d_done, r_busy, r_done;
    wire [31:0] d_y, r_y;
    fp32_div u_d (.clk(clk), .rst(rst), .start(div_go), .a(amax), .b(F127), .busy(d_busy),
                  .done(d_done), .y(d_y));
    fp32_div u_r (.clk(clk), .rst(rst), .start(div_go), .a(F127), .b(amax), .busy(r_busy),
                  .done(r_done), .y(r_y));

    // ---- one element per cycle ----
    wire [31:0] xi = xb[32*idx +: 32];
    wire [31:0] v;
    wire        unused_v, unused_h;
    fp32_mul #(.LATENCY(0)) u_mul (.clk(clk), .in_valid(1'b0), .a(xi), .b(id),
                                   .out_valid(unused_v), .y(v));
    wire [7:0]  qi;
    q8_rne_clamp u_rne (.v(v), .q(qi));
    fp32_to_fp16 #(.LATENCY(0)) u_h (.clk(clk), .in_valid(1'b0), .f(dq), .out_valid(unused_h),
                                     .h(d));
    wire unused_div = &{1'b0, d_busy, r_busy, r_done};

    always @(posedge clk) begin
        done <= 1'b0;
        div_go <= 1'b0;
        if (rst) begin
            state <= S_IDLE;
        end else begin
            case (state)
                S_IDLE:
                    if (start) begin
                        xb <= x;
                        amax <= amax_c;
                        div_go <= 1'b1;
                        state <= S_AMAX;
                    end
                S_AMAX:
                    state <= S_DIV;  // the dividers took amax at this edge
                S_DIV:
                    if (d_done) begin  // both finish together
                        dq <= d_y;
                        id <= (amax == 32'd0) ? 32'd0 : r_y;
                        idx <= 5'd0;
                        state <= S_QUANT;
                    end
                default: begin  // S_QUANT
                    q[8*idx +: 8] <= qi;
                    idx <= idx + 5'd1;
                    if (idx == 5'd31) begin
                        done <= 1'b1;
                        state <= S_IDLE;
                    end
                end
            endcase
        end
    end
    assign busy = (state != S_IDLE);
endmodule

`default_nettype wire
