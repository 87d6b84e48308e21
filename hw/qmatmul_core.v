// hw/qmatmul_core.v: the qmatmul kernel datapath, every weight type, t = 1..2^T_LOG2 tokens and
// every flag combination (docs/numerics.md, bit-exact with fl_qmatmul in hls/qmatmul.c):
//   y (t, n) = epilogue(W (n, k) @ xq (t, k)^T),  xq = Q8_0(rmsnorm?(x))
//
// Calls (ap_ctrl_chain, hw/README.md): the core holds at most two calls, the running one and a
// taken one. `start` (level) is taken when the taken slot is free: `ready` is high in that
// cycle (combinational), the arguments are latched in the slot with their check, and the
// caller may change the argument pins from the next cycle on. The check is
// fl_qmatmul_check's, in its order (flags, type, shape, range), plus the build maxima of this
// datapath (k <= 32 * 2^XB_LOG2, t <= 2^T_LOG2) as FL_KST_RANGE. A taken good call's weight
// streams (w; w_up with SWIGLU) start as soon as the running call's weight requests are all
// issued (prefetch into the stream FIFOs); everything else of it (x, norm_w, r reads, y writes)
// starts only once the running call has completed (its y writes all answered). A refused call
// reads and writes nothing and completes in order. A call completes with a `done` pulse and
// `status` = its FL_KST_* code, stable until the next completion; after a completion the core
// completes no other call before a `cont` pulse (the host's ap_continue), though it keeps
// working on the next call.
// A good call, once running:
//  1. qmm_xprep (the prologue) reads x (and norm_w) and hands out every Q8_0 block of every
//     token once; each goes into the xq/xd buffer: WAYS banks (bank b % WAYS holds block b of
//     every token, at {token, b / WAYS}), so the WAYS blocks of a group read in one cycle.
//  2. The weight stream w (and w_up with SWIGLU, same offsets, in lock step; axi_rd_queue,
//     2^W_FIFO_LOG2 beats, filled ahead during the previous call's tail and this call's
//     prologue); once x is complete, a byte gearbox per stream takes up to TWO beats a cycle
//     (so a prefetched backlog drains faster than memory fills it) and cuts WAYS blocks of a
//     row at a time (fewer only as a row's last group) into the group register, decoded
//     (qblock_decode). The gearbox stops at its range's last beat (the next call's beats stay
//     in the FIFO). A group stays there for t cycles: in cycle tt it is dotted (qblock_dot,
//     WAYS ways) with token tt's xq blocks, and the terms go into token tt's 8 lanes (term b
//     of a row to lane b % 8; WAYS fp32 adders per matrix, lanes per token in registers, the
//     result forwarded when the same lanes come back ADD_LAT = 8 / WAYS cycles later, as in
//     fp32_lanesumw; lane = slot * WAYS + way, slot = (block / WAYS) % (8 / WAYS)). A row's
//     last group captures token tt's lanes into fp32_tree8: one (row, token) sum per cycle.
//     WAYS = 8 (the default) keeps short rows streaming: k = 288 (9 blocks) takes 2 cycles a
//     row, under the 2.5 cycles its 162 Q4_0 bytes take at 64 bytes a cycle.
//  3. The sums (gate and up) queue in a FIFO, rows ascending, tokens in order, into qmm_epi
//     (SwiGLU, residual, y writes) with valid/ready; a credit counter keeps the FIFO from
//     overflowing. The call is finished once qmm_epi is done (every y write answered), the
//     prologue finished and both gearboxes took their range's last beat; it completes then
//     (or at the `cont` that allows it).
// Addresses as the driver guarantees them (fl_kernel_regions): w and w_up any byte, x, norm_w,
// r and y 4 bytes. rst is for power-up / between calls: the fixed-latency pipelines are not
// cleared by it, so a reset in the middle of a call needs ~20 cycles before the next start.
`default_nettype none

module qmatmul_core #(
    parameter integer DATA_W    = 512,  // 64, 128, 256 or 512 (every port)
    parameter integer XB_LOG2   = 9,    // xq buffer: 2^XB_LOG2 blocks a token (k <= 32 * 2^XB_LOG2)
    parameter integer T_LOG2    = 6,    // xq buffer: 2^T_LOG2 tokens
    parameter integer N_QUANT   = 16,   // Q8_0 quantizers in the prologue
    parameter integer WAYS      = 8,    // weight blocks per cycle: 2, 4 or 8
    parameter integer W_BURST   = 64,   // weight stream: beats per burst
    parameter integer W_OUT     = 4,    // weight stream: outstanding bursts
    parameter integer W_FIFO_LOG2 = 9   // weight stream: FIFO beats (log2): holds the bubble
                                        // between calls (hw/README.md)
) (
    input  wire              clk,
    input  wire              rst,          // synchronous, active high
    input  wire              start,        // level: a call waits on the pins until `ready`
    output wire              ready,        // the arguments are taken this cycle
    input  wire              cont,         // pulse: the host acknowledged the completed call
    input  wire [63:0]       arg_w,
    input  wire [63:0]       arg_w_up,
    input  wire [63:0]       arg_x,
    input  wire [63:0]       arg_norm_w,
    input  wire [63:0]       arg_r,
    input  wire [63:0]       arg_y,
    input  wire [31:0]       arg_wtype,
    input  wire [31:0]       arg_n,
    input  wire [31:0]       arg_k,
    input  wire [31:0]       arg_t,
    input  wire [31:0]       arg_flags,
    input  wire [31:0]       arg_eps,
    output wire              idle,
    output reg               done,
    output reg  [31:0]       status,
    // ---- gmem0: w (read) ----
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
    // ---- gmem1: w_up (read, SWIGLU) ----
    output wire              wu_arvalid,
    input  wire              wu_arready,
    output wire [63:0]       wu_araddr,
    output wire [7:0]        wu_arlen,
    output wire [2:0]        wu_arsize,
    output wire [1:0]        wu_arburst,
    input  wire              wu_rvalid,
    output wire              wu_rready,
    input  wire [DATA_W-1:0] wu_rdata,
    input  wire              wu_rlast,
    input  wire [1:0]        wu_rresp,
    // ---- gmem2: x (read) ----
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
    // ---- gmem3: norm_w (read, NORM) ----
    output wire              nw_arvalid,
    input  wire              nw_arready,
    output wire [63:0]       nw_araddr,
    output wire [7:0]        nw_arlen,
    output wire [2:0]        nw_arsize,
    output wire [1:0]        nw_arburst,
    input  wire              nw_rvalid,
    output wire              nw_rready,
    input  wire [DATA_W-1:0] nw_rdata,
    input  wire              nw_rlast,
    input  wire [1:0]        nw_rresp,
    // ---- gmem4: r (read, RESID) ----
    output wire              r_arvalid,
    input  wire              r_arready,
    output wire [63:0]       r_araddr,
    output wire [7:0]        r_arlen,
    output wire [2:0]        r_arsize,
    output wire [1:0]        r_arburst,
    input  wire              r_rvalid,
    output wire              r_rready,
    input  wire [DATA_W-1:0] r_rdata,
    input  wire              r_rlast,
    input  wire [1:0]        r_rresp,
    // ---- gmem5: y (write) ----
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
    localparam integer BYB     = DATA_W / 8;       // bytes per beat
    localparam integer LOG_BYB = (BYB == 8) ? 3 : (BYB == 16) ? 4 : (BYB == 32) ? 5 : 6;
    localparam integer CAP     = 2 * BYB + 34 * WAYS;  // gearbox bytes (WAYS blocks, 2 beats)
    localparam integer LW      = (WAYS == 8) ? 3 : (WAYS == 4) ? 2 : 1;  // log2 WAYS
    localparam integer NSLOT   = 8 / WAYS;             // lane slots: lane = slot * WAYS + way
    localparam integer SB      = (NSLOT > 1) ? 3 - LW : 1;  // slot bits (one unused bit at 8)
    localparam integer ADD_LAT = 8 / WAYS;             // lane adders: the forwarding distance
    localparam integer DOT_A   = 2, DOT_B = 2;         // qblock_dot latencies
    localparam integer Q_LOG2  = 7;                    // sums FIFO entries (log2)
    localparam integer XA      = T_LOG2 + XB_LOG2 - LW; // xq bank address bits
    localparam [1:0] S_IDLE = 2'd0, S_RUN = 2'd1, S_FIN = 2'd2;

    // ---- arguments and their check (fl_qmatmul_check order, then the build maxima) ----
    reg [31:0] a_wtype, a_n, a_nb, a_t;
    reg        a_swiglu;
    wire type_ok = arg_wtype == FL_TYPE_Q4_0 || arg_wtype == FL_TYPE_Q5_0 ||
                   arg_wtype == FL_TYPE_Q8_0;
    wire [31:0] st_c =
        ((arg_flags & ~FL_QMM_FLAGS_ALL) != 32'd0) ? FL_KST_BAD_FLAGS :
        !type_ok ? FL_KST_BAD_TYPE :
        (arg_n == 32'd0 || arg_k == 32'd0 || arg_t == 32'd0 || arg_k[4:0] != 5'd0) ?
            FL_KST_BAD_SHAPE :
        (arg_n > FL_MAX_N[31:0] || arg_k > FL_MAX_K[31:0] || arg_t > FL_MAX_T[31:0] ||
         arg_k[31:5] > (27'd1 << XB_LOG2) || arg_t > (32'd1 << T_LOG2)) ? FL_KST_RANGE :
        FL_KST_OK;
    wire [5:0]  bbytes_c = (arg_wtype == FL_TYPE_Q4_0) ? 6'd18 :
                           (arg_wtype == FL_TYPE_Q5_0) ? 6'd22 : 6'd34;
    reg  [5:0]  bbytes;
    // weight bytes n * (k / 32) * block bytes (< 2^33 within FL_MAX_N, FL_MAX_K)
    wire [63:0] w_bytes_c = {32'd0, arg_n} * {37'd0, arg_k[31:5]} * {58'd0, bbytes_c};

    // ---- the taken call (slot q): arguments latched at `ready`, checked ----
    reg         q_v;        // a call is taken and not yet running
    reg         q_wgo;      // its weight streams are started (prefetch)
    reg  [31:0] q_st;
    reg  [63:0] q_w, q_wu, q_x, q_nw, q_r, q_y, q_wbytes;
    reg  [31:0] q_wtype, q_n, q_k, q_t, q_flags, q_eps;
    wire        q_ok = q_st == FL_KST_OK;
    wire        q_swiglu = (q_flags & FL_QMM_SWIGLU) != 32'd0;
    wire [5:0]  q_bbytes = (q_wtype == FL_TYPE_Q4_0) ? 6'd18 :
                           (q_wtype == FL_TYPE_Q5_0) ? 6'd22 : 6'd34;
    assign ready = start && !q_v && !rst;

    // ---- the running call: S_RUN, then S_FIN until it may complete ----
    reg [1:0]  state;
    reg [31:0] r_st;   // the running call's status
    reg        hold;   // a completion not yet acknowledged by `cont`
    initial begin
        state = S_IDLE;
        done = 1'b0;
        status = 32'd0;
        q_v = 1'b0;
        hold = 1'b0;
    end
    assign idle = (state == S_IDLE) && !q_v;
    wire ws_cready, us_cready;   // the streams take a new range
    // the taken call's weights: once the running call's requests are all issued
    wire wgo = q_v && q_ok && !q_wgo && ws_cready && (!q_swiglu || us_cready);
    // the taken call runs once the previous one completed (and its weights are requested)
    wire launch = state == S_IDLE && q_v && (!q_ok || q_wgo || wgo);
    wire go_ok = launch && q_ok;
    wire fin_go = state == S_FIN && (!hold || cont);   // the running call completes

    // ---- 1. the prologue and the xq/xd buffer ----
    wire                 xp_busy, xp_done, xp_valid;
    wire [T_LOG2-1:0]    xp_tok;
    wire [XB_LOG2-1:0]   xp_blk;
    wire [255:0]         xp_q;
    wire [15:0]          xp_d;
    qmm_xprep #(.DATA_W(DATA_W), .XB_LOG2(XB_LOG2), .T_LOG2(T_LOG2), .N_QUANT(N_QUANT)) u_xp (
        .clk(clk), .rst(rst), .start(go_ok), .arg_x(q_x), .arg_norm_w(q_nw),
        .arg_k(q_k), .arg_t(q_t), .norm((q_flags & FL_QMM_NORM) != 32'd0),
        .arg_eps(q_eps), .busy(xp_busy), .done(xp_done),
        .x_arvalid(x_arvalid), .x_arready(x_arready), .x_araddr(x_araddr), .x_arlen(x_arlen),
        .x_arsize(x_arsize), .x_arburst(x_arburst), .x_rvalid(x_rvalid), .x_rready(x_rready),
        .x_rdata(x_rdata), .x_rlast(x_rlast), .x_rresp(x_rresp),
        .nw_arvalid(nw_arvalid), .nw_arready(nw_arready), .nw_araddr(nw_araddr),
        .nw_arlen(nw_arlen), .nw_arsize(nw_arsize), .nw_arburst(nw_arburst),
        .nw_rvalid(nw_rvalid), .nw_rready(nw_rready), .nw_rdata(nw_rdata),
        .nw_rlast(nw_rlast), .nw_rresp(nw_rresp),
        .out_valid(xp_valid), .out_tok(xp_tok), .out_blk(xp_blk), .out_q(xp_q), .out_d(xp_d));
    reg x_ok;    // every xq block of the call is in the buffer
    reg epi_ok;  // qmm_epi finished
    initial begin
        x_ok = 1'b0;
        epi_ok = 1'b0;
    end

    // ---- 2. the weight streams (queued ranges, two beats out a cycle) and their gearboxes ----
    wire [1:0]        ws_valid, us_valid, ws_take, us_take;
    wire              ws_last0, ws_last1, us_last0, us_last1, ws_busy, us_busy;
    wire [DATA_W-1:0] ws_d0, ws_d1, us_d0, us_d1;
    axi_rd_queue #(.DATA_W(DATA_W), .MAX_BURST(W_BURST), .MAX_OUT(W_OUT),
                   .FIFO_LOG2(W_FIFO_LOG2)) u_ws (
        .clk(clk), .rst(rst), .start(wgo), .start_ready(ws_cready), .addr(q_w),
        .len_bytes(q_wbytes), .busy(ws_busy),
        .m_axi_arvalid(w_arvalid), .m_axi_arready(w_arready), .m_axi_araddr(w_araddr),
        .m_axi_arlen(w_arlen), .m_axi_arsize(w_arsize), .m_axi_arburst(w_arburst),
        .m_axi_rvalid(w_rvalid), .m_axi_rready(w_rready), .m_axi_rdata(w_rdata),
        .m_axi_rlast(w_rlast), .m_axi_rresp(w_rresp),
        .out_valid(ws_valid), .out_data0(ws_d0), .out_data1(ws_d1), .out_last0(ws_last0),
        .out_last1(ws_last1), .out_take(ws_take));
    axi_rd_queue #(.DATA_W(DATA_W), .MAX_BURST(W_BURST), .MAX_OUT(W_OUT),
                   .FIFO_LOG2(W_FIFO_LOG2)) u_us (
        .clk(clk), .rst(rst), .start(wgo && q_swiglu), .start_ready(us_cready), .addr(q_wu),
        .len_bytes(q_wbytes), .busy(us_busy),
        .m_axi_arvalid(wu_arvalid), .m_axi_arready(wu_arready), .m_axi_araddr(wu_araddr),
        .m_axi_arlen(wu_arlen), .m_axi_arsize(wu_arsize), .m_axi_arburst(wu_arburst),
        .m_axi_rvalid(wu_rvalid), .m_axi_rready(wu_rready), .m_axi_rdata(wu_rdata),
        .m_axi_rlast(wu_rlast), .m_axi_rresp(wu_rresp),
        .out_valid(us_valid), .out_data0(us_d0), .out_data1(us_d1), .out_last0(us_last0),
        .out_last1(us_last1), .out_take(us_take));

    reg  [CAP*8-1:0] gb, ub;      // bytes 0..n-1 valid, the rest zero
    reg  [8:0]       gb_n, ub_n;
    reg              w_first, u_first;   // the next beat is the stream's first
    reg  [LOG_BYB-1:0] w_skip, u_skip;   // bytes before the matrix in the first beat
    reg  [31:0]      b_idx;   // block within the row of the next group
    reg  [31:0]      row;     // row of the next group
    wire [31:0]      left = a_nb - b_idx;  // blocks left in the row (>= 1)
    wire [3:0]       cnt  = (left < WAYS) ? left[3:0] : WAYS[3:0];
    wire [8:0]       need = {5'd0, cnt} * {3'b000, bbytes};
    wire             row_end = (left <= WAYS);

    // the group register: WAYS decoded blocks of w (and w_up), dotted with t tokens in turn
    reg                 g_v;
    reg  [WAYS*272-1:0] g_wq, g_uq;   // block gw: {d (16), q (256)} at 272 * gw
    reg  [3:0]          g_cnt;
    reg                 g_end, g_first;
    reg  [SB-1:0]       g_slot;
    reg  [XB_LOG2-LW-1:0] g_addr;     // b_idx / WAYS
    reg  [T_LOG2-1:0]   tok;          // token of the next issue cycle
    reg  [Q_LOG2:0]     credit_used;  // (row, token) sums issued, not yet taken by qmm_epi
    wire                tok_last = ({{(32 - T_LOG2){1'b0}}, tok} == a_t - 32'd1);
    wire                issue = (state == S_RUN) && g_v &&
                                (!g_end || !credit_used[Q_LOG2]);
    wire                gb_has = gb_n >= need && (!a_swiglu || ub_n >= need);
    wire                load = (state == S_RUN) && x_ok && (row != a_n) && gb_has &&
                               (!g_v || (issue && tok_last));
    wire [8:0]          gn_after = load ? gb_n - need : gb_n;
    wire [8:0]          un_after = (load && a_swiglu) ? ub_n - need : ub_n;
    wire [CAP*8-1:0]    gb_after = load ? gb >> {need, 3'b000} : gb;
    wire [CAP*8-1:0]    ub_after = (load && a_swiglu) ? ub >> {need, 3'b000} : ub;
    // intake: up to two beats a cycle while the running call's range lasts (its last beat
    // taken: w_end); the beats go in as one (2 * DATA_W)-bit word, the second zeroed when not
    // taken, shifted past the bytes before the matrix in the range's first beat
    reg              w_end, u_end;
    wire             w_act = (state == S_RUN) && !w_end;
    wire             u_act = (state == S_RUN) && a_swiglu && !u_end;
    wire             w_t0 = w_act && ws_valid[0] && ({23'd0, gn_after} + BYB <= CAP);
    wire             w_t1 = w_t0 && ws_valid[1] && !ws_last0 &&
                            ({23'd0, gn_after} + 2 * BYB <= CAP);
    wire             u_t0 = u_act && us_valid[0] && ({23'd0, un_after} + BYB <= CAP);
    wire             u_t1 = u_t0 && us_valid[1] && !us_last0 &&
                            ({23'd0, un_after} + 2 * BYB <= CAP);
    assign ws_take = {1'b0, w_t0} + {1'b0, w_t1};
    assign us_take = {1'b0, u_t0} + {1'b0, u_t1};
    wire [CAP*8-1:0] wbeat = {{(CAP * 8 - 2 * DATA_W){1'b0}}, w_t1 ? ws_d1 : {DATA_W{1'b0}},
                              ws_d0} >> (w_first ? {w_skip, 3'b000} : 0);
    wire [CAP*8-1:0] ubeat = {{(CAP * 8 - 2 * DATA_W){1'b0}}, u_t1 ? us_d1 : {DATA_W{1'b0}},
                              us_d0} >> (u_first ? {u_skip, 3'b000} : 0);
    wire [8:0] w_add = (w_first ? BYB[8:0] - {{(9 - LOG_BYB){1'b0}}, w_skip} : BYB[8:0]) +
                       (w_t1 ? BYB[8:0] : 9'd0);
    wire [8:0] u_add = (u_first ? BYB[8:0] - {{(9 - LOG_BYB){1'b0}}, u_skip} : BYB[8:0]) +
                       (u_t1 ? BYB[8:0] : 9'd0);
    wire       w_lastin = (w_t0 && ws_last0) || (w_t1 && ws_last1);
    wire       u_lastin = (u_t0 && us_last0) || (u_t1 && us_last1);

    wire [WAYS*272-1:0] dec_w, dec_u;
    genvar gw;
    generate
        for (gw = 0; gw < WAYS; gw = gw + 1) begin : g_dec
            // block gw starts at byte gw * bbytes: a constant slice per block size (a mux, not
            // a shifter; the slices past the block are ignored by the decoder)
            wire [271:0] bw = (bbytes == 6'd18) ? gb[gw * 144 +: 272] :
                              (bbytes == 6'd22) ? gb[gw * 176 +: 272] : gb[gw * 272 +: 272];
            wire [271:0] bu = (bbytes == 6'd18) ? ub[gw * 144 +: 272] :
                              (bbytes == 6'd22) ? ub[gw * 176 +: 272] : ub[gw * 272 +: 272];
            wire dv_w, dv_u, ok_w, ok_u;
            qblock_decode #(.LATENCY(0)) u_dw (
                .clk(clk), .in_valid(1'b1), .wtype(a_wtype), .blk(bw),
                .out_valid(dv_w), .type_ok(ok_w), .d(dec_w[272*gw + 256 +: 16]),
                .q(dec_w[272*gw +: 256]));
            qblock_decode #(.LATENCY(0)) u_du (
                .clk(clk), .in_valid(1'b1), .wtype(a_wtype), .blk(bu),
                .out_valid(dv_u), .type_ok(ok_u), .d(dec_u[272*gw + 256 +: 16]),
                .q(dec_u[272*gw +: 256]));
            wire unused_dec = &{1'b0, dv_w, dv_u, ok_w, ok_u};
        end
    endgenerate

    // ---- the issue cycle: xq bank reads (registered) and the group's blocks ----
    reg                 i_v;          // the cycle after an issue
    reg  [WAYS*272-1:0] i_wq, i_uq;
    wire [WAYS*272-1:0] i_x;          // {dx, xq} of way gw's block of the token
    reg  [3:0]          i_cnt;
    initial i_v = 1'b0;
    generate
        for (gw = 0; gw < WAYS; gw = gw + 1) begin : g_bank
            localparam [LW-1:0] BK = gw;
            reg [271:0] bank [0:(1 << XA) - 1];
            reg [271:0] rd;
            always @(posedge clk) begin
                if (xp_valid && xp_blk[LW-1:0] == BK)
                    bank[{xp_tok, xp_blk[XB_LOG2-1:LW]}] <= {xp_d, xp_q};
                if (issue)
                    rd <= bank[{tok, g_addr}];
            end
            assign i_x[272*gw +: 272] = rd;
        end
    endgenerate

    // ---- the dots: WAYS blocks of w (and w_up) with one token's blocks ----
    localparam integer TAGW = T_LOG2 + SB + 1 + 4 + 1;  // token, slot, first, cnt, end
    wire [TAGW-1:0] t_tag;
    wire            t_v;
    fp_pipe #(.W(TAGW), .LATENCY(1 + DOT_A + DOT_B)) u_ttag (
        .clk(clk), .in_valid(issue), .in_data({tok, g_slot, g_first, g_cnt, g_end}),
        .out_valid(t_v), .out_data(t_tag));
    wire [T_LOG2-1:0] t_tok   = t_tag[TAGW-1 -: T_LOG2];
    wire [SB-1:0]     t_slot  = t_tag[6 +: SB];
    wire              t_first = t_tag[5];
    wire [3:0]        t_cnt   = t_tag[4:1];
    wire              t_end   = t_tag[0];

    // accumulate tag: ADD_LAT cycles behind the term
    localparam integer WBW = T_LOG2 + SB + 4 + 1;
    wire [WBW-1:0] wb_tag;
    wire           wb_v;
    fp_pipe #(.W(WBW), .LATENCY(ADD_LAT)) u_wtag (
        .clk(clk), .in_valid(t_v), .in_data({t_tok, t_slot, t_cnt, t_end}),
        .out_valid(wb_v), .out_data(wb_tag));
    wire [T_LOG2-1:0] wb_tok  = wb_tag[WBW-1 -: T_LOG2];
    wire [SB-1:0]     wb_slot = wb_tag[5 +: SB];
    wire [3:0]        wb_cnt  = wb_tag[4:1];
    wire              wb_end  = wb_tag[0];
    // lanes that hold a term of the row at its end: lane l iff l < nb (all when nb >= 8)
    reg  [7:0]        used;

    wire [511:0] cap_lanes;   // per matrix: token wb_tok's 8 lanes at the row's end
    reg          cap_v;
    reg  [511:0] cap_r;
    initial cap_v = 1'b0;
    wire [63:0]  sums;        // {u, g} out of the trees
    wire [1:0]   sum_v;

    genvar gm, gs;
    generate
        for (gm = 0; gm < 2; gm = gm + 1) begin : g_mat
            wire [WAYS*272-1:0] wq = (gm == 0) ? i_wq : i_uq;
            wire [32*WAYS-1:0]  terms;
            wire [WAYS-1:0]     tv;
            wire [32*WAYS-1:0]  y;
            wire [WAYS-1:0]     yv;
            // lanes per token: way gw holds lanes slot * WAYS + gw, at {token, slot}
            for (gw = 0; gw < WAYS; gw = gw + 1) begin : g_way
                qblock_dot #(.LAT_A(DOT_A), .LAT_B(DOT_B)) u_dot (
                    .clk(clk), .in_valid(i_v && i_cnt > gw), .wq(wq[272*gw +: 256]),
                    .dw(wq[272*gw + 256 +: 16]), .xq(i_x[272*gw +: 256]),
                    .dx(i_x[272*gw + 256 +: 16]), .out_valid(tv[gw]),
                    .term(terms[32*gw +: 32]));
                reg  [31:0] lane [0:(1 << (T_LOG2 + SB)) - 1];
                wire        fwd = yv[gw] && wb_tok == t_tok && wb_slot == t_slot;
                wire [31:0] acc = t_first ? 32'd0 : fwd ? y[32*gw +: 32]
                                                        : lane[{t_tok, t_slot}];
                fp32_add #(.LATENCY(ADD_LAT)) u_add (
                    .clk(clk), .in_valid(t_v && t_cnt > gw), .a(acc), .b(terms[32*gw +: 32]),
                    .out_valid(yv[gw]), .y(y[32*gw +: 32]));
                always @(posedge clk)
                    if (yv[gw])
                        lane[{wb_tok, wb_slot}] <= y[32*gw +: 32];
                // capture: lane s * WAYS + gw of token wb_tok
                for (gs = 0; gs < NSLOT; gs = gs + 1) begin : g_cap
                    localparam [SB-1:0] SL = gs;
                    wire [31:0] cur = lane[{wb_tok, SL}];
                    assign cap_lanes[256*gm + 32*(gs*WAYS + gw) +: 32] =
                        !used[gs*WAYS + gw] ? 32'd0 :
                        (wb_slot == SL && wb_cnt > gw) ? y[32*gw +: 32] : cur;
                end
            end
            fp32_tree8 #(.ADD_LAT(2)) u_tree (
                .clk(clk), .in_valid(cap_v), .lanes(cap_r[256*gm +: 256]),
                .out_valid(sum_v[gm]), .sum(sums[32*gm +: 32]));
            wire unused_tv = &{1'b0, tv};
        end
    endgenerate

    // ---- 3. the sums FIFO and the epilogue ----
    reg  [63:0]     sq [0:(1 << Q_LOG2) - 1];
    reg  [Q_LOG2:0] sq_wp, sq_rp;
    initial begin
        sq_wp = {(Q_LOG2 + 1){1'b0}};
        sq_rp = {(Q_LOG2 + 1){1'b0}};
    end
    wire        e_valid = sq_wp != sq_rp;
    wire        e_ready;
    wire [63:0] e_head = sq[sq_rp[Q_LOG2-1:0]];
    wire        e_pop = e_valid && e_ready;
    wire        epi_busy, epi_done;
    qmm_epi #(.DATA_W(DATA_W), .T_LOG2(T_LOG2)) u_epi (
        .clk(clk), .rst(rst), .start(go_ok), .arg_r(q_r), .arg_y(q_y), .arg_n(q_n),
        .arg_t(q_t), .swiglu(q_swiglu), .resid((q_flags & FL_QMM_RESID) != 32'd0),
        .in_valid(e_valid), .in_ready(e_ready), .in_g(e_head[31:0]), .in_u(e_head[63:32]),
        .busy(epi_busy), .done(epi_done),
        .r_arvalid(r_arvalid), .r_arready(r_arready), .r_araddr(r_araddr), .r_arlen(r_arlen),
        .r_arsize(r_arsize), .r_arburst(r_arburst), .r_rvalid(r_rvalid), .r_rready(r_rready),
        .r_rdata(r_rdata), .r_rlast(r_rlast), .r_rresp(r_rresp),
        .y_awvalid(y_awvalid), .y_awready(y_awready), .y_awaddr(y_awaddr), .y_awlen(y_awlen),
        .y_awsize(y_awsize), .y_awburst(y_awburst), .y_wvalid(y_wvalid), .y_wready(y_wready),
        .y_wdata(y_wdata), .y_wstrb(y_wstrb), .y_wlast(y_wlast), .y_bvalid(y_bvalid),
        .y_bready(y_bready), .y_bresp(y_bresp));
    wire unused = &{1'b0, xp_busy, ws_busy, us_busy, epi_busy, sum_v[1]};

    always @(posedge clk) begin
        done <= 1'b0;
        // pipeline registers (no reset needed: their valid bits are)
        i_v <= issue;
        if (issue) begin
            i_wq <= g_wq;
            i_uq <= g_uq;
            i_cnt <= g_cnt;
        end
        cap_v <= wb_v && wb_end;
        cap_r <= cap_lanes;
        if (sum_v[0])
            sq[sq_wp[Q_LOG2-1:0]] <= sums;
        if (rst) begin
            state <= S_IDLE;
            q_v <= 1'b0;
            hold <= 1'b0;
            g_v <= 1'b0;
            sq_wp <= {(Q_LOG2 + 1){1'b0}};
            sq_rp <= {(Q_LOG2 + 1){1'b0}};
        end else begin
            if (sum_v[0])
                sq_wp <= sq_wp + 1'b1;
            if (e_pop)
                sq_rp <= sq_rp + 1'b1;
            // the taken slot: filled at `ready`, emptied at launch
            if (ready) begin
                q_v <= 1'b1;
                q_wgo <= 1'b0;
                q_st <= st_c;
                q_w <= arg_w;
                q_wu <= arg_w_up;
                q_x <= arg_x;
                q_nw <= arg_norm_w;
                q_r <= arg_r;
                q_y <= arg_y;
                q_wbytes <= w_bytes_c;
                q_wtype <= arg_wtype;
                q_n <= arg_n;
                q_k <= arg_k;
                q_t <= arg_t;
                q_flags <= arg_flags;
                q_eps <= arg_eps;
            end else begin
                if (wgo)
                    q_wgo <= 1'b1;
                if (launch)
                    q_v <= 1'b0;
            end
            // completions: one per `cont`
            if (fin_go)
                hold <= 1'b1;
            else if (cont)
                hold <= 1'b0;
            case (state)
            S_IDLE: if (launch) begin
                r_st <= q_st;
                a_wtype <= q_wtype;
                a_n <= q_n;
                a_nb <= {5'd0, q_k[31:5]};
                a_t <= q_t;
                a_swiglu <= q_swiglu;
                used <= (q_k[31:5] >= 27'd8) ? 8'hff : ~(8'hff << q_k[7:5]);
                bbytes <= q_bbytes;
                gb <= {(CAP * 8){1'b0}};
                ub <= {(CAP * 8){1'b0}};
                gb_n <= 9'd0;
                ub_n <= 9'd0;
                w_first <= 1'b1;
                u_first <= 1'b1;
                w_end <= 1'b0;
                u_end <= 1'b0;
                w_skip <= q_w[LOG_BYB-1:0];
                u_skip <= q_wu[LOG_BYB-1:0];
                b_idx <= 32'd0;
                row <= 32'd0;
                g_v <= 1'b0;
                tok <= {T_LOG2{1'b0}};
                credit_used <= {(Q_LOG2 + 1){1'b0}};
                x_ok <= 1'b0;
                epi_ok <= 1'b0;
                state <= q_ok ? S_RUN : S_FIN;
            end
            S_RUN: begin
                if (xp_done)
                    x_ok <= 1'b1;
                if (epi_done)
                    epi_ok <= 1'b1;
                gb <= w_t0 ? gb_after | (wbeat << {gn_after, 3'b000}) : gb_after;
                gb_n <= gn_after + (w_t0 ? w_add : 9'd0);
                if (w_t0)
                    w_first <= 1'b0;
                if (w_lastin)
                    w_end <= 1'b1;
                ub <= u_t0 ? ub_after | (ubeat << {un_after, 3'b000}) : ub_after;
                ub_n <= un_after + (u_t0 ? u_add : 9'd0);
                if (u_t0)
                    u_first <= 1'b0;
                if (u_lastin)
                    u_end <= 1'b1;
                if (issue)
                    tok <= tok_last ? {T_LOG2{1'b0}} : tok + 1'b1;
                if (load) begin
                    g_v <= 1'b1;
                    g_wq <= dec_w;
                    g_uq <= dec_u;
                    g_cnt <= cnt;
                    g_end <= row_end;
                    g_first <= b_idx < 32'd8;
                    g_slot <= (NSLOT > 1) ? b_idx[LW +: SB] : {SB{1'b0}};
                    g_addr <= b_idx[XB_LOG2-1:LW];
                    b_idx <= row_end ? 32'd0 : b_idx + WAYS;
                    row <= row + {31'd0, row_end};
                end else if (issue && tok_last) begin
                    g_v <= 1'b0;
                end
                credit_used <= credit_used + {{Q_LOG2{1'b0}}, issue && g_end}
                                           - {{Q_LOG2{1'b0}}, e_pop};
                if ((epi_ok || epi_done) && (x_ok || xp_done) && w_end &&
                    (!a_swiglu || u_end))
                    state <= S_FIN;
            end
            default: if (fin_go) begin  // S_FIN: complete (one completion per `cont`)
                done <= 1'b1;
                status <= r_st;
                state <= S_IDLE;
            end
            endcase
        end
    end
endmodule

`default_nettype wire
