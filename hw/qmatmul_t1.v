// hw/qmatmul_t1.v: the qmatmul datapath for one token (t = 1) without prologue or epilogue:
//   y (n,) = W (n, k) @ xq (k,)      W rows in Q4_0 / Q5_0 / Q8_0 blocks, xq = Q8_0(x)
// bit-exact with fl_qmatmul (hls/qmatmul.c) under docs/numerics.md for flags = 0, t = 1.
//
// `start` (while idle) takes the arguments. The argument check is fl_qmatmul_check's, in its
// order (flags, type, shape, range), plus what this datapath does not do: any flag (even a
// known one) gives FL_KST_BAD_FLAGS, t > 1 and k > 32 * 2^XB_LOG2 give FL_KST_RANGE; on a bad
// status nothing is read or written and `done` pulses the next cycle. Otherwise:
//  1. x (k fp32, gmem x) streams in through axi_rd_stream; every 32 values go to the next of
//     N_QUANT q8_quant32 units in turn (63 cycles a block each) and from there into the on-chip
//     buffers xq / xd (one entry per block). The weight stream is started at the same time,
//     so its FIFO fills meanwhile.
//  2. The weight rows (n * k/32 blocks, contiguous from w) stream through a byte gearbox that
//     cuts the beats into blocks of 18 / 22 / 34 bytes, WAYS blocks of a row per cycle (fewer
//     only at a row's end); each block is decoded (qblock_decode) and dotted with the matching
//     xq block (qblock_dot), and the terms of a row go through the 8-lane sum WAYS at a time
//     (fp32_lanesumw), term b of a row to lane b % 8.
//  3. Each row's sum is written to y + 4 * row by axi_wr_words; `done` pulses once the last
//     write's response is back.
// At most ROWS_IN_FLIGHT rows are between the gearbox and the write FIFO's output, so the
// sums never overflow the FIFO (32 entries).
// Addresses as the driver guarantees them (fl_kernel_regions): w any byte, x and y 4 bytes.
`default_nettype none

module qmatmul_t1 #(
    parameter integer DATA_W  = 512,  // 64, 128, 256 or 512 (x and w ports; y as well)
    parameter integer XB_LOG2 = 9,    // xq buffer: 2^XB_LOG2 blocks (k <= 32 * 2^XB_LOG2)
    parameter integer N_QUANT = 4,    // Q8_0 quantizers working side by side, 1..15
    parameter integer WAYS    = 4     // weight blocks per cycle: 2 or 4
) (
    input  wire              clk,
    input  wire              rst,          // synchronous, active high
    input  wire              start,
    input  wire [63:0]       arg_w,
    input  wire [63:0]       arg_x,
    input  wire [63:0]       arg_y,
    input  wire [31:0]       arg_wtype,
    input  wire [31:0]       arg_n,
    input  wire [31:0]       arg_k,
    input  wire [31:0]       arg_t,
    input  wire [31:0]       arg_flags,
    output wire              idle,
    output reg               done,
    output reg  [31:0]       status,
    // ---- gmem w (read) ----
    output wire              w_arvalid,
    input  wire              w_arready,
    output wire [63:0]       w_araddr,
    output wire [7:0]        w_arlen,
    output wire [2:0]        w_arsize,
    output wire [1:0]        w_arburst,
    input  wire              w_rvalid,
    output wire              w_rready,
    input  wire [DATA_W-1:0] w_rdata,
    input  wire              w_rlast,
    input  wire [1:0]        w_rresp,
    // ---- gmem x (read) ----
    output wire              x_arvalid,
    input  wire              x_arready,
    output wire [63:0]       x_araddr,
    output wire [7:0]        x_arlen,
    output wire [2:0]        x_arsize,
    output wire [1:0]        x_arburst,
    input  wire              x_rvalid,
    output wire              x_rready,
    input  wire [DATA_W-1:0] x_rdata,
    input  wire              x_rlast,
    input  wire [1:0]        x_rresp,
    // ---- gmem y (write) ----
    output wire                y_awvalid,
    input  wire                y_awready,
    output wire [63:0]         y_awaddr,
    output wire [7:0]          y_awlen,
    output wire [2:0]          y_awsize,
    output wire [1:0]          y_awburst,
    output wire                y_wvalid,
    input  wire                y_wready,
    output wire [DATA_W-1:0]   y_wdata,
    output wire [DATA_W/8-1:0] y_wstrb,
    output wire                y_wlast,
    input  wire                y_bvalid,
    output wire                y_bready,
    input  wire [1:0]          y_bresp
);
`include "qmatmul_regs.vh"
    localparam integer BYB   = DATA_W / 8;       // bytes per beat
    localparam integer LOG_BYB = (BYB == 8) ? 3 : (BYB == 16) ? 4 : (BYB == 32) ? 5 : 6;
    localparam integer CAP   = BYB + 34 * WAYS;  // gearbox bytes (WAYS blocks and a beat)
    localparam integer ROWS_IN_FLIGHT = 16;      // write FIFO holds 32
    localparam [2:0] S_IDLE = 3'd0, S_X = 3'd1, S_W = 3'd3, S_END = 3'd4;

    // ---- arguments and their check (fl_qmatmul_check order) ----
    reg [31:0] a_wtype, a_n, a_nb;
    wire type_ok = arg_wtype == FL_TYPE_Q4_0 || arg_wtype == FL_TYPE_Q5_0 ||
                   arg_wtype == FL_TYPE_Q8_0;
    wire [31:0] st_c =
        (arg_flags != 32'd0) ? FL_KST_BAD_FLAGS :
        !type_ok ? FL_KST_BAD_TYPE :
        (arg_n == 32'd0 || arg_k == 32'd0 || arg_t == 32'd0 || arg_k[4:0] != 5'd0) ?
            FL_KST_BAD_SHAPE :
        (arg_n > FL_MAX_N[31:0] || arg_k > FL_MAX_K[31:0] || arg_t != 32'd1 ||
         arg_k[31:5] > (27'd1 << XB_LOG2)) ? FL_KST_RANGE : FL_KST_OK;
    wire [5:0]  bbytes_c = (arg_wtype == FL_TYPE_Q4_0) ? 6'd18 :
                           (arg_wtype == FL_TYPE_Q5_0) ? 6'd22 : 6'd34;
    reg  [5:0]  bbytes;
    // weight bytes n * (k / 32) * block bytes (< 2^33 within FL_MAX_N, FL_MAX_K)
    wire [63:0] w_bytes_c = {32'd0, arg_n} * {37'd0, arg_k[31:5]} * {58'd0, bbytes_c};

    reg [2:0] state;
    initial begin
        state = S_IDLE;
        done = 1'b0;
        status = 32'd0;
    end
    assign idle = (state == S_IDLE);
    wire go = start && state == S_IDLE;
    wire go_ok = go && st_c == FL_KST_OK;

    // ---- the two read streams ----
    wire              xs_valid, xs_last, ws_valid, ws_last;
    wire [DATA_W-1:0] xs_data, ws_data;
    wire              xs_ready, ws_ready;
    wire              xs_busy, ws_busy, xs_done, ws_done;
    axi_rd_stream #(.DATA_W(DATA_W), .MAX_BURST(16), .MAX_OUT(2), .FIFO_LOG2(5)) u_xs (
        .clk(clk), .rst(rst), .start(go_ok), .addr(arg_x), .len_bytes({30'd0, arg_k, 2'b00}),
        .busy(xs_busy), .done(xs_done),
        .m_axi_arvalid(x_arvalid), .m_axi_arready(x_arready), .m_axi_araddr(x_araddr),
        .m_axi_arlen(x_arlen), .m_axi_arsize(x_arsize), .m_axi_arburst(x_arburst),
        .m_axi_rvalid(x_rvalid), .m_axi_rready(x_rready), .m_axi_rdata(x_rdata),
        .m_axi_rlast(x_rlast), .m_axi_rresp(x_rresp),
        .out_valid(xs_valid), .out_ready(xs_ready), .out_data(xs_data), .out_last(xs_last));
    axi_rd_stream #(.DATA_W(DATA_W), .MAX_BURST(64), .MAX_OUT(4), .FIFO_LOG2(8)) u_ws (
        .clk(clk), .rst(rst), .start(go_ok), .addr(arg_w), .len_bytes(w_bytes_c),
        .busy(ws_busy), .done(ws_done),
        .m_axi_arvalid(w_arvalid), .m_axi_arready(w_arready), .m_axi_araddr(w_araddr),
        .m_axi_arlen(w_arlen), .m_axi_arsize(w_arsize), .m_axi_arburst(w_arburst),
        .m_axi_rvalid(w_rvalid), .m_axi_rready(w_rready), .m_axi_rdata(w_rdata),
        .m_axi_rlast(w_rlast), .m_axi_rresp(w_rresp),
        .out_valid(ws_valid), .out_ready(ws_ready), .out_data(ws_data), .out_last(ws_last));

    // ---- 1. x -> Q8_0 blocks, on N_QUANT quantizers in turn ----
    localparam integer WPB = DATA_W / 32;  // fp32 words per beat
    reg  [1023:0] x_acc;     // the block handed to a quantizer: 32 fp32, element i at bits 32i
    reg  [1023+DATA_W:0] xg; // x gearbox: words 0..xg_n-1 valid, the rest zero
    reg  [7:0]    xg_n;
    reg           x_first;   // the next x beat is the first (it starts arg_x % beat bytes early)
    reg  [LOG_BYB-3:0] x_skip; // fp32 words before x in the first beat
    reg  [31:0]   x_sent;    // blocks handed to a quantizer
    reg  [31:0]   x_blk;     // blocks quantized (they finish in the order they started)
    reg  [3:0]    q_rr;      // the quantizer the next block goes to
    reg  [N_QUANT-1:0] q_start;
    wire [N_QUANT-1:0] q_busy, q_done;
    wire [256*N_QUANT-1:0] q_q;
    wire [16*N_QUANT-1:0]  q_d;
    reg  [255:0]  xq [0:(1 << XB_LOG2) - 1];
    reg  [15:0]   xd [0:(1 << XB_LOG2) - 1];
    wire q_any_done = |q_done;
    /* verilator lint_off UNUSED */
    wire [15:0] rr_mask16 = 16'd1 << q_rr;
    /* verilator lint_on UNUSED */
    wire [N_QUANT-1:0] rr_mask = rr_mask16[N_QUANT-1:0];  // one-hot q_rr
    wire x_take = (state == S_X) && (xg_n >= 8'd32) && (x_sent != a_nb) &&
                  !(|(q_busy & rr_mask)) && !(|(q_start & rr_mask));
    wire [7:0] xn_after = x_take ? xg_n - 8'd32 : xg_n;
    wire [1023+DATA_W:0] xg_after = x_take ? xg >> 1024 : xg;
    assign xs_ready = (state == S_X) && (xn_after <= 8'd32);
    wire [1023+DATA_W:0] xbeat = {1024'd0, xs_data} >> (x_first ? {x_skip, 5'd0} : 0);
    wire [7:0] x_add = x_first ? WPB[7:0] - {{(10 - LOG_BYB){1'b0}}, x_skip} : WPB[7:0];
    genvar gq;
    generate
        for (gq = 0; gq < N_QUANT; gq = gq + 1) begin : g_q
            q8_quant32 u_q (.clk(clk), .rst(rst), .start(q_start[gq]), .x(x_acc),
                            .busy(q_busy[gq]), .done(q_done[gq]), .q(q_q[256*gq +: 256]),
                            .d(q_d[16*gq +: 16]));
        end
    endgenerate
    // at most one quantizer finishes per cycle (starts are >= 2 cycles apart, equal latency)
    reg [255:0] qd_q;
    reg [15:0]  qd_d;
    integer iq;
    always @(*) begin
        qd_q = q_q[255:0];
        qd_d = q_d[15:0];
        for (iq = 1; iq < N_QUANT; iq = iq + 1)
            if (q_done[iq]) begin
                qd_q = q_q[256*iq +: 256];
                qd_d = q_d[16*iq +: 16];
            end
    end

    // ---- 2. weight gearbox: beats -> blocks ----
    reg  [CAP*8-1:0] gb;      // bytes 0..gb_n-1 valid, the rest zero
    reg  [7:0]       gb_n;
    reg  [31:0]      b_idx;   // block within the row
    reg  [31:0]      row;     // row of the next block
    reg  [31:0]      rows_fly; // rows emitted, sum not yet out of the write FIFO
    // WAYS blocks of a row at a time (terms WAYS*g .. of the row), fewer only as the row's
    // last group: groups start at multiples of WAYS, as fp32_lanesumw requires
    wire [31:0]      left    = a_nb - b_idx;  // blocks left in the row (>= 1)
    wire [2:0]       cnt     = (left < WAYS) ? left[2:0] : WAYS[2:0];
    wire [7:0]       need    = {5'd0, cnt} * {2'b00, bbytes};
    wire             emit = (state == S_W) && (gb_n >= need) && (row != a_n) &&
                            (rows_fly < ROWS_IN_FLIGHT);
    wire             row_end = (left <= WAYS);
    wire [7:0]       n_after = emit ? gb_n - need : gb_n;
    wire [CAP*8-1:0] gb_after = emit ? gb >> {need, 3'b000} : gb;
    assign ws_ready = (state == S_W) && ({24'd0, n_after} + BYB <= CAP);
    reg              w_first;  // the next weight beat is the first
    reg  [LOG_BYB-1:0] w_skip; // bytes before w in the first beat
    wire [CAP*8-1:0] beat_ext = {{(CAP * 8 - DATA_W){1'b0}}, ws_data} >>
                                (w_first ? {w_skip, 3'b000} : 0);
    wire [7:0]       w_add = w_first ? BYB[7:0] - {{(8 - LOG_BYB){1'b0}}, w_skip} : BYB[7:0];

    wire [WAYS-1:0]    t_v;
    wire [32*WAYS-1:0] t_terms;
    genvar gw;
    generate
        for (gw = 0; gw < WAYS; gw = gw + 1) begin : g_blk
            /* verilator lint_off UNUSED */
            wire [CAP*8-1:0] blk_w = gb >> (gw * 8 * bbytes);  // block gw: bits 271:0
            /* verilator lint_on UNUSED */
            wire [XB_LOG2-1:0] xi = b_idx[XB_LOG2-1:0] + gw;
            wire         dec_v, dec_ok;
            wire [15:0]  dec_d;
            wire [255:0] dec_q;
            qblock_decode #(.LATENCY(0)) u_dec (
                .clk(clk), .in_valid(emit && cnt > gw), .wtype(a_wtype), .blk(blk_w[271:0]),
                .out_valid(dec_v), .type_ok(dec_ok), .d(dec_d), .q(dec_q));
            qblock_dot #(.LAT_A(2), .LAT_B(2)) u_dot (
                .clk(clk), .in_valid(dec_v), .wq(dec_q), .dw(dec_d), .xq(xq[xi]), .dx(xd[xi]),
                .out_valid(t_v[gw]), .term(t_terms[32*gw +: 32]));
            wire unused_ok = dec_ok;
        end
    endgenerate
    wire        l_v, t_last;
    wire [2:0]  t_n;
    fp_pipe #(.W(4), .LATENCY(4)) u_last (
        .clk(clk), .in_valid(emit), .in_data({row_end, cnt}), .out_valid(l_v),
        .out_data({t_last, t_n}));
    wire        s_v;
    wire [31:0] s_sum;
    fp32_lanesumw #(.WAYS(WAYS), .ADD_LAT(2)) u_sum (
        .clk(clk), .rst(rst || go), .in_valid(t_v[0]), .in_n(t_n), .last(t_last),
        .terms(t_terms), .out_valid(s_v), .sum(s_sum));

    // ---- 3. y writes ----
    reg  [63:0] y_addr;
    wire        wr_ready, wr_idle, wr_taken;
    axi_wr_words #(.DATA_W(DATA_W), .FIFO_LOG2(5)) u_wr (
        .clk(clk), .rst(rst), .in_valid(s_v), .in_ready(wr_ready), .in_addr(y_addr),
        .in_data(s_sum), .idle(wr_idle), .taken(wr_taken),
        .m_axi_awvalid(y_awvalid), .m_axi_awready(y_awready), .m_axi_awaddr(y_awaddr),
        .m_axi_awlen(y_awlen), .m_axi_awsize(y_awsize), .m_axi_awburst(y_awburst),
        .m_axi_wvalid(y_wvalid), .m_axi_wready(y_wready), .m_axi_wdata(y_wdata),
        .m_axi_wstrb(y_wstrb), .m_axi_wlast(y_wlast), .m_axi_bvalid(y_bvalid),
        .m_axi_bready(y_bready), .m_axi_bresp(y_bresp));
    wire unused = &{1'b0, xs_busy, xs_done, ws_done, xs_last, ws_last, l_v, wr_ready, t_v,
                    ws_busy};

    always @(posedge clk) begin
        done <= 1'b0;
        q_start <= {N_QUANT{1'b0}};
        if (q_any_done) begin
            xq[x_blk[XB_LOG2-1:0]] <= qd_q;
            xd[x_blk[XB_LOG2-1:0]] <= qd_d;
        end
        if (rst) begin
            state <= S_IDLE;
        end else begin
            case (state)
            S_IDLE: if (start) begin
                status <= st_c;
                a_wtype <= arg_wtype;
                a_n <= arg_n;
                a_nb <= {5'd0, arg_k[31:5]};
                bbytes <= bbytes_c;
                xg <= {(1024 + DATA_W){1'b0}};
                xg_n <= 8'd0;
                x_first <= 1'b1;
                x_skip <= arg_x[LOG_BYB-1:2];
                x_sent <= 32'd0;
                x_blk <= 32'd0;
                q_rr <= 4'd0;
                gb <= {(CAP * 8){1'b0}};
                gb_n <= 8'd0;
                w_first <= 1'b1;
                w_skip <= arg_w[LOG_BYB-1:0];
                b_idx <= 32'd0;
                row <= 32'd0;
                rows_fly <= 32'd0;
                y_addr <= arg_y;
                if (st_c == FL_KST_OK)
                    state <= S_X;
                else
                    done <= 1'b1;
            end
            S_X: begin  // gather 32 values, hand them to the next quantizer when it is free
                xg <= (xs_valid && xs_ready) ? xg_after | (xbeat << {xn_after, 5'd0}) : xg_after;
                xg_n <= xn_after + ((xs_valid && xs_ready) ? x_add : 8'd0);
                if (xs_valid && xs_ready)
                    x_first <= 1'b0;
                if (x_take) begin
                    x_acc <= xg[1023:0];
                    q_start <= rr_mask;
                    x_sent <= x_sent + 32'd1;
                    q_rr <= (q_rr == N_QUANT[3:0] - 4'd1) ? 4'd0 : q_rr + 4'd1;
                end
                if (q_any_done) begin
                    x_blk <= x_blk + 32'd1;
                    if (x_blk + 32'd1 == a_nb)
                        state <= S_W;
                end
            end
            S_W: begin
                gb <= (ws_valid && ws_ready) ? gb_after | (beat_ext << {n_after, 3'b000}) : gb_after;
                gb_n <= n_after + ((ws_valid && ws_ready) ? w_add : 8'd0);
                if (ws_valid && ws_ready)
                    w_first <= 1'b0;
                if (emit) begin
                    b_idx <= row_end ? 32'd0 : b_idx + WAYS;
                    row <= row + {31'd0, row_end};
                end
                rows_fly <= rows_fly + {31'd0, emit && row_end} - {31'd0, wr_taken};
                if (s_v)
                    y_addr <= y_addr + 64'd4;
                if (row == a_n && rows_fly == 32'd0 && !(emit && row_end))
                    state <= S_END;
            end
            default: if (wr_idle && !ws_busy) begin  // S_END: the last response is back
                state <= S_IDLE;
                done <= 1'b1;
            end
            endcase
        end
    end
endmodule
