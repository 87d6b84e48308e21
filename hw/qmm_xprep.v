// hw/qmm_xprep.v: the qmatmul prologue: t token rows of x (fp32, row tt at x + 4 * k * tt),
// optionally RMSNorm'ed with norm_w and eps, quantized to Q8_0 blocks; bit-exact with
// fl_qmm_quantize_rows (hls/qmatmul.c) under docs/numerics.md. Its consumer (hw/qmatmul_core.v)
// writes each block into its xq / xd buffer.
//
// `start` (while !busy; arguments already checked: 1 <= t <= 2^T_LOG2, k a multiple of 32 with
// k <= 32 * 2^XB_LOG2, x and norm_w 4-byte aligned) begins a call; every (token, block) pair
// then comes out exactly once on out_* (one out_valid cycle each, no backpressure), tokens in
// order and blocks in increasing order within a token, and `done` pulses the cycle after the
// last one. (A call with t = 0 or k < 32 reads nothing and pulses done the next cycle.) After
// a reset in the middle of a call `busy` stays high 15 cycles while the fp pipelines drain
// (a start then is ignored; nothing comes out); after a reset between calls it is low.
//
// The rows are contiguous, so x is read as ONE range of t * k words (axi_rd_stream on the
// x_* port) and cut into words by a gearbox (qmm_wgear). Then:
//  - without norm: every 32 words are the next block, handed to the quantizer pool
//    (qmm_q8pool: N_QUANT divider pairs in turn, a shared 32-wide multiply stage); at 512 bits
//    a block every 2 cycles, so the prologue takes about k * t / 16 cycles plus the memory
//    latency and ~35 cycles (k = 2048, t = 1, latency 40: 206 cycles).
//  - with norm, two passes per row:
//    pass 1 takes 8 words every SS_LAT cycles: each word to the row buffer (on chip, two rows:
//      row tt in buffer tt % 2) and squared into its lane (element i -> lane i % 8: word j of
//      an aligned group of 8 is lane j), each lane an SS_LAT-cycle fp32 add loop from +0.0f;
//      after the row's last group the 8 lanes go through fp32_tree8 (the contract's order).
//    scale chain (one row at a time, in order): mean = ss / (float)k (fp32_div), mean + eps
//      (fp32_add), sqrtf (fp32_sqrt), 1.0f / that (fp32_div): about 90 cycles.
//    pass 2 reads the row back a block a cycle (as the quantizer pool takes them), with
//      norm_w's block (norm_w is read once per call, from the nw_* port, into its own
//      buffer) and computes (e * scale) * norm_w[i] (two fp32_mul stages) into the pool.
//    Pass 1 of row tt + 1 runs while row tt is in the scale chain and pass 2.
//  Why buffer the row instead of reading x twice as the C does: x stays ONE contiguous read
//  (axi_rd_stream takes a new range only after the previous one is drained, so re-reading
//  would cost a memory latency per pass and row), x is read once (the same traffic as without
//  norm), pass 2 does not wait for memory, and it overlaps the next row's pass 1. The cost is
//  3 x 64 KiB of block RAM at XB_LOG2 = 9 (two row buffers and norm_w).
// Pass 1 is the limit with norm: 8 terms per SS_LAT cycles, as each of the 8 lanes is one
// sequential chain of fp32 adds (docs/numerics.md); a row costs about max(k / 8 * SS_LAT,
// 90 + 2 * k / 32) cycles. SS_LAT = 1 puts a whole fp32 add in a one-cycle loop (the Fmax
// limit of this module); SS_LAT = 2 halves pass 1's rate instead.
`default_nettype none

module qmm_xprep #(
    parameter integer DATA_W  = 512,  // 64, 128, 256 or 512 (x and norm_w ports)
    parameter integer XB_LOG2 = 9,    // k <= 32 * 2^XB_LOG2
    parameter integer T_LOG2  = 6,    // t <= 2^T_LOG2
    parameter integer N_QUANT = 16,   // quantizer divider pairs (16: a block every 2 cycles)
    parameter integer SS_LAT  = 1     // norm: cycles of a lane's fp32 add loop (1 or 2); pass 1
                                      // takes 8 words every SS_LAT cycles
) (
    input  wire               clk,
    input  wire               rst,          // synchronous, active high
    input  wire               start,
    input  wire [63:0]        arg_x,
    input  wire [63:0]        arg_norm_w,
    input  wire [31:0]        arg_k,
    input  wire [31:0]        arg_t,
    input  wire               norm,
    input  wire [31:0]        arg_eps,      // fp32 bits
    output wire               busy,
    output reg                done,
    // ---- gmem x (read) ----
    output wire               x_arvalid,
    input  wire               x_arready,
    output wire [63:0]        x_araddr,
    output wire [7:0]         x_arlen,
    output wire [2:0]         x_arsize,
    output wire [1:0]         x_arburst,
    input  wire               x_rvalid,
    output wire               x_rready,
    input  wire [DATA_W-1:0]  x_rdata,
    input  wire               x_rlast,
    input  wire [1:0]         x_rresp,
    // ---- gmem norm_w (read; idle without norm) ----
    output wire               nw_arvalid,
    input  wire               nw_arready,
    output wire [63:0]        nw_araddr,
    output wire [7:0]         nw_arlen,
    output wire [2:0]         nw_arsize,
    output wire [1:0]         nw_arburst,
    input  wire               nw_rvalid,
    output wire               nw_rready,
    input  wire [DATA_W-1:0]  nw_rdata,
    input  wire               nw_rlast,
    input  wire [1:0]         nw_rresp,
    // ---- Q8_0 blocks out ----
    output wire               out_valid,
    output wire [T_LOG2-1:0]  out_tok,
    output wire [XB_LOG2-1:0] out_blk,
    output wire [255:0]       out_q,        // (32,) int8, element j at bits 8j +: 8
    output wire [15:0]        out_d         // fp16 scale
);
    localparam integer BYB     = DATA_W / 8;  // bytes per beat
    localparam integer LOG_BYB = (BYB == 8) ? 3 : (BYB == 16) ? 4 : (BYB == 32) ? 5 : 6;
    localparam integer NB      = 1 << XB_LOG2;  // blocks per row at most
    localparam integer TAG_W   = T_LOG2 + XB_LOG2;
    localparam integer GW      = XB_LOG2 + 3;   // groups of 8 words in a row: count bits
    localparam integer CW      = T_LOG2 + XB_LOG2 + 1;  // blocks per call: count bits
    localparam [31:0]  F_ONE   = 32'h3f80_0000;  // 1.0f

    // ---- arguments ----
    reg               run;
    reg               a_norm;
    reg [31:0]        a_eps;
    reg [XB_LOG2:0]   a_nb;      // k / 32
    reg [T_LOG2:0]    a_t;
    reg [CW-1:0]      a_total;   // t * k / 32
    reg [3:0]         settle;    // cycles after a reset before a start is taken
    initial begin
        run = 1'b0;
        done = 1'b0;
        settle = 4'd0;
    end
    assign busy = run || settle != 4'd0;
    wire go = start && !busy;
    // a call with no block (t = 0 or k < 32; the caller's check excludes them) ends at once
    wire go_nz = go && arg_t != 32'd0 && arg_k[31:5] != 27'd0;
    wire [63:0] x_len = ({32'd0, arg_k} * {32'd0, arg_t}) << 2;
    wire [31:0] a_kf;      // (float)k, registered at go (held: fp units' enables)
    wire        unused_kf;
    int32_to_fp32 #(.LATENCY(1)) u_kf (.clk(clk), .in_valid(go), .i(arg_k),
                                       .out_valid(unused_kf), .y(a_kf));

    // ---- the two read streams and their gearboxes ----
    wire              xs_valid, xs_ready, xs_busy, xs_done, xs_last;
    wire [DATA_W-1:0] xs_data;
    axi_rd_stream #(.DATA_W(DATA_W), .MAX_BURST(64), .MAX_OUT(4), .FIFO_LOG2(8)) u_xs (
        .clk(clk), .rst(rst), .start(go_nz), .addr(arg_x), .len_bytes(x_len),
        .busy(xs_busy), .done(xs_done),
        .m_axi_arvalid(x_arvalid), .m_axi_arready(x_arready), .m_axi_araddr(x_araddr),
        .m_axi_arlen(x_arlen), .m_axi_arsize(x_arsize), .m_axi_arburst(x_arburst),
        .m_axi_rvalid(x_rvalid), .m_axi_rready(x_rready), .m_axi_rdata(x_rdata),
        .m_axi_rlast(x_rlast), .m_axi_rresp(x_rresp),
        .out_valid(xs_valid), .out_ready(xs_ready), .out_data(xs_data), .out_last(xs_last));
    wire              ns_valid, ns_ready, ns_busy, ns_done, ns_last;
    wire [DATA_W-1:0] ns_data;
    axi_rd_stream #(.DATA_W(DATA_W), .MAX_BURST(32), .MAX_OUT(4), .FIFO_LOG2(7)) u_ns (
        .clk(clk), .rst(rst), .start(go_nz && norm), .addr(arg_norm_w),
        .len_bytes({30'd0, arg_k, 2'b00}), .busy(ns_busy), .done(ns_done),
        .m_axi_arvalid(nw_arvalid), .m_axi_arready(nw_arready), .m_axi_araddr(nw_araddr),
        .m_axi_arlen(nw_arlen), .m_axi_arsize(nw_arsize), .m_axi_arburst(nw_arburst),
        .m_axi_rvalid(nw_rvalid), .m_axi_rready(nw_rready), .m_axi_rdata(nw_rdata),
        .m_axi_rlast(nw_rlast), .m_axi_rresp(nw_rresp),
        .out_valid(ns_valid), .out_ready(ns_ready), .out_data(ns_data), .out_last(ns_last));
    wire unused_st = &{1'b0, xs_busy, xs_done, xs_last, ns_busy, ns_done, ns_last};

    wire [3:0] x_skip = {{(6 - LOG_BYB){1'b0}}, arg_x[LOG_BYB-1:2]};
    wire [3:0] n_skip = {{(6 - LOG_BYB){1'b0}}, arg_norm_w[LOG_BYB-1:2]};
    wire [1023:0] xg_w, ng_w;
    wire [7:0]    xg_n, ng_n;
    wire [5:0]    xg_take, ng_take;
    qmm_wgear #(.DATA_W(DATA_W)) u_xg (
        .clk(clk), .clear(go), .skip(x_skip), .in_valid(xs_valid), .in_ready(xs_ready),
        .in_data(xs_data), .take(xg_take), .words(xg_w), .n(xg_n));
    qmm_wgear #(.DATA_W(DATA_W)) u_ng (
        .clk(clk), .clear(go), .skip(n_skip), .in_valid(ns_valid), .in_ready(ns_ready),
        .in_data(ns_data), .take(ng_take), .words(ng_w), .n(ng_n));
    wire unused_ngw = &{1'b0, ng_w[1023:256]};  // norm_w is taken 8 words at a time

    // ---- the quantizer pool ----
    wire             pq_can;
    wire             pq_reserve, pq_valid;
    wire [1023:0]    pq_x;
    wire [TAG_W-1:0] pq_tag;
    wire             pq_idle;
    qmm_q8pool #(.N_SLOT(N_QUANT), .TAG_W(TAG_W), .MUL_LAT(2)) u_pool (
        .clk(clk), .rst(rst), .reserve(pq_reserve), .can_reserve(pq_can), .in_valid(pq_valid),
        .in_x(pq_x), .in_tag(pq_tag), .idle(pq_idle), .out_valid(out_valid),
        .out_tag({out_tok, out_blk}), .out_q(out_q), .out_d(out_d));
    wire unused_idle = pq_idle;

    // ---- without norm: every 32 words of x are the next block ----
    reg  [T_LOG2:0]  d_tok;   // the next block: token, block
    reg  [XB_LOG2:0] d_blk;
    wire d_take = run && !a_norm && d_tok != a_t && xg_n >= 8'd32 && pq_can;

    // ---- norm, pass 1: 8 words a cycle into the row buffer and the squares ----
    reg  [1023:0]    xbuf [0:2*NB-1];   // (2, NB) blocks: row tt in rows tt % 2
    reg  [1023:0]    nwbuf [0:NB-1];    // (NB,) blocks of norm_w
    reg  [T_LOG2:0]  p1_row;
    reg  [GW-1:0]    p1_g;               // group of 8 words within the row
    reg  [1:0]       bfree;              // row buffer free for pass 1
    wire [GW-1:0]    last_g = {a_nb, 2'b00} - 1'b1;
    reg  [1:0]       p1_wait;            // cycles until the lanes take the next group
    wire p1_take = run && a_norm && p1_row != a_t && xg_n >= 8'd8 && p1_wait == 2'd0 &&
                   (p1_g != {GW{1'b0}} || bfree[p1_row[0]]);
    wire p1_last = (p1_g == last_g);
    assign xg_take = d_take ? 6'd32 : p1_take ? 6'd8 : 6'd0;

    wire [255:0] sq;
    wire [7:0]   sq_v8;
    wire         sq_v, sq_first, sq_last;
    genvar gq;
    generate
        for (gq = 0; gq < 8; gq = gq + 1) begin : g_sq
            fp32_mul #(.LATENCY(2)) u_sq (
                .clk(clk), .in_valid(p1_take), .a(xg_w[32*gq +: 32]), .b(xg_w[32*gq +: 32]),
                .out_valid(sq_v8[gq]), .y(sq[32*gq +: 32]));
        end
    endgenerate
    fp_pipe #(.W(2), .LATENCY(2)) u_sqside (
        .clk(clk), .in_valid(p1_take), .in_data({p1_g == {GW{1'b0}}, p1_last}),
        .out_valid(sq_v), .out_data({sq_first, sq_last}));
    wire unused_sqv = &{1'b0, sq_v8};

    // lanes: SS_LAT-cycle fp32 add loops, lane j starting from +0.0f at a row's first group;
    // the lane register is the adder's last stage (SS_LAT stages; fp units hold their output
    // between results), and the tree takes the 8 lanes in the cycle after a row's last add
    wire [255:0] lane;
    wire [7:0]   lv;
    genvar gl;
    generate
        for (gl = 0; gl < 8; gl = gl + 1) begin : g_lane
            fp32_add #(.LATENCY(SS_LAT)) u_la (
                .clk(clk), .in_valid(sq_v), .a(sq_first ? 32'd0 : lane[32*gl +: 32]),
                .b(sq[32*gl +: 32]), .out_valid(lv[gl]), .y(lane[32*gl +: 32]));
        end
    endgenerate
    wire unused_lv = &{1'b0, lv[7:1]};
    wire lv_v, lv_last;
    fp_pipe #(.W(1), .LATENCY(SS_LAT)) u_lvside (
        .clk(clk), .in_valid(sq_v), .in_data(sq_last), .out_valid(lv_v), .out_data(lv_last));
    wire unused_lvv = lv_v;
    wire         tr_v = lv[0] && lv_last;
    wire         ss_v;
    wire [31:0]  ss;
    fp32_tree8 #(.ADD_LAT(2)) u_tree (
        .clk(clk), .in_valid(tr_v), .lanes(lane), .out_valid(ss_v), .sum(ss));

    // ---- norm: the scale chain, one row at a time, rows in order (row tt in slot tt % 2) ----
    localparam [1:0] C_IDLE = 2'd0, C_MEAN = 2'd1, C_SQRT = 2'd2, C_RCP = 2'd3;
    reg  [1:0]   cst;
    reg          ss_wb;         // slot of the next sum of squares
    // (the testbench reads these four: public_flat_rd)
    reg  [63:0]  ss_q /*verilator public_flat_rd*/;        // the two slots' sums
    reg  [1:0]   ss_have /*verilator public_flat_rd*/;
    reg          cb;            // slot in the chain
    reg  [63:0]  scale_q /*verilator public_flat_rd*/;
    reg  [1:0]   scale_have /*verilator public_flat_rd*/;
    reg          dv_go, sq_go;
    reg  [31:0]  dv_a, dv_b;
    wire         dv_busy, dv_done, sr_busy, sr_done;
    wire [31:0]  dv_y, sr_y;
    fp32_div u_dv (.clk(clk), .rst(rst), .start(dv_go), .a(dv_a), .b(dv_b), .busy(dv_busy),
                   .done(dv_done), .y(dv_y));
    wire [31:0]  me_c;         // mean + eps, registered as mean arrives (held)
    wire         unused_me;
    fp32_add #(.LATENCY(1)) u_me (.clk(clk), .in_valid(run && cst == C_MEAN && dv_done),
                                  .a(dv_y), .b(a_eps), .out_valid(unused_me), .y(me_c));
    fp32_sqrt u_sr (.clk(clk), .rst(rst), .start(sq_go), .a(me_c), .busy(sr_busy),
                    .done(sr_done), .y(sr_y));
    wire unused_cb = &{1'b0, dv_busy, sr_busy};

    // ---- norm, pass 2: a block a cycle from the row buffer, (e * scale) * norm_w ----
    reg  [T_LOG2:0]  p2_row;
    reg  [XB_LOG2:0] p2_b;
    reg  [GW-1:0]    nw_g;     // groups of norm_w in nwbuf
    wire             nw_take = run && a_norm && nw_g != {a_nb, 2'b00} && ng_n >= 8'd8;
    assign ng_take = nw_take ? 6'd8 : 6'd0;
    wire [GW-1:0]    p2_need = {1'b0, p2_b[XB_LOG2-1:0], 2'b11};  // last group of the block
    wire p2_take = run && a_norm && p2_row != a_t && scale_have[p2_row[0]] &&
                   nw_g > p2_need && pq_can;
    wire p2_last = (p2_b == a_nb - 1'b1);
    reg              rd_v;
    reg  [1023:0]    rd_x, rd_nw;
    reg  [31:0]      rd_scale;
    reg  [TAG_W-1:0] rd_tag;
    initial rd_v = 1'b0;
    wire [1023:0]    m1, m2, m1_nw;
    wire [31:0]      m1_v, m2_v;
    wire [TAG_W-1:0] m1_tag, m2_tag;
    wire             m1_sv, m2_sv;
    genvar gm;
    generate
        for (gm = 0; gm < 32; gm = gm + 1) begin : g_nrm
            fp32_mul #(.LATENCY(2)) u_m1 (
                .clk(clk), .in_valid(rd_v), .a(rd_x[32*gm +: 32]), .b(rd_scale),
                .out_valid(m1_v[gm]), .y(m1[32*gm +: 32]));
            fp32_mul #(.LATENCY(2)) u_m2 (
                .clk(clk), .in_valid(m1_v[gm]), .a(m1[32*gm +: 32]), .b(m1_nw[32*gm +: 32]),
                .out_valid(m2_v[gm]), .y(m2[32*gm +: 32]));
        end
    endgenerate
    fp_pipe #(.W(1024 + TAG_W), .LATENCY(2)) u_m1side (
        .clk(clk), .in_valid(rd_v), .in_data({rd_nw, rd_tag}), .out_valid(m1_sv),
        .out_data({m1_nw, m1_tag}));
    fp_pipe #(.W(TAG_W), .LATENCY(2)) u_m2side (
        .clk(clk), .in_valid(m1_sv), .in_data(m1_tag), .out_valid(m2_sv), .out_data(m2_tag));
    wire unused_mv = &{1'b0, m1_v, m2_v[31:1]};

    // ---- into the pool: a direct block, or a normalised one ----
    assign pq_reserve = d_take || p2_take;
    assign pq_valid = d_take || (m2_sv && run);  // (nothing left over from before a reset)
    assign pq_x = m2_sv ? m2 : xg_w;
    assign pq_tag = m2_sv ? m2_tag : {d_tok[T_LOG2-1:0], d_blk[XB_LOG2-1:0]};
    wire unused_m2 = m2_v[0];

    // ---- completion ----
    reg [CW-1:0] n_out;

    always @(posedge clk) begin
        done <= 1'b0;
        dv_go <= 1'b0;
        sq_go <= 1'b0;
        rd_v <= 1'b0;
        // buffers
        if (p1_take)
            xbuf[{p1_row[0], p1_g[XB_LOG2+1:2]}][256*p1_g[1:0] +: 256] <= xg_w[255:0];
        if (nw_take)
            nwbuf[nw_g[XB_LOG2+1:2]][256*nw_g[1:0] +: 256] <= ng_w[255:0];
        if (p2_take) begin
            rd_x <= xbuf[{p2_row[0], p2_b[XB_LOG2-1:0]}];
            rd_nw <= nwbuf[p2_b[XB_LOG2-1:0]];
            rd_scale <= scale_q[32*p2_row[0] +: 32];
            rd_tag <= {p2_row[T_LOG2-1:0], p2_b[XB_LOG2-1:0]};
        end
        if (settle != 4'd0)
            settle <= settle - 4'd1;
        if (rst) begin
            run <= 1'b0;
            // in the middle of a call: 15 cycles for the fp pipelines to drain (no reset on
            // their valid bits); at power-up and between calls they are empty already
            settle <= (run || settle != 4'd0) ? 4'd15 : 4'd0;
        end else if (go) begin
            run <= go_nz;
            done <= !go_nz;
            a_norm <= norm;
            a_eps <= arg_eps;
            a_nb <= arg_k[XB_LOG2+5:5];
            a_t <= arg_t[T_LOG2:0];
            a_total <= arg_t[CW-1:0] * {{T_LOG2{1'b0}}, arg_k[XB_LOG2+5:5]};
            d_tok <= {(T_LOG2 + 1){1'b0}};
            d_blk <= {(XB_LOG2 + 1){1'b0}};
            p1_row <= {(T_LOG2 + 1){1'b0}};
            p1_g <= {GW{1'b0}};
            p1_wait <= 2'd0;
            bfree <= 2'b11;
            ss_wb <= 1'b0;
            ss_have <= 2'b00;
            cb <= 1'b0;
            cst <= C_IDLE;
            scale_have <= 2'b00;
            p2_row <= {(T_LOG2 + 1){1'b0}};
            p2_b <= {(XB_LOG2 + 1){1'b0}};
            nw_g <= {GW{1'b0}};
            n_out <= {CW{1'b0}};
        end else if (run) begin
            // without norm
            if (d_take) begin
                if (d_blk == a_nb - 1'b1) begin
                    d_blk <= {(XB_LOG2 + 1){1'b0}};
                    d_tok <= d_tok + 1'b1;
                end else begin
                    d_blk <= d_blk + 1'b1;
                end
            end
            // pass 1
            if (p1_take)
                p1_wait <= SS_LAT[1:0] - 2'd1;
            else if (p1_wait != 2'd0)
                p1_wait <= p1_wait - 2'd1;
            if (p1_take) begin
                if (p1_last) begin
                    p1_g <= {GW{1'b0}};
                    p1_row <= p1_row + 1'b1;
                end else begin
                    p1_g <= p1_g + 1'b1;
                end
            end
            if (ss_v) begin
                ss_q[32*ss_wb +: 32] <= ss;
                ss_have[ss_wb] <= 1'b1;
                ss_wb <= ~ss_wb;
            end
            // scale chain
            case (cst)
            C_IDLE: if (ss_have[cb]) begin
                ss_have[cb] <= 1'b0;
                dv_a <= ss_q[32*cb +: 32];
                dv_b <= a_kf;
                dv_go <= 1'b1;
                cst <= C_MEAN;
            end
            C_MEAN: if (dv_done) begin
                sq_go <= 1'b1;  // takes mean + eps (u_me) at the next edge
                cst <= C_SQRT;
            end
            C_SQRT: if (sr_done) begin
                dv_a <= F_ONE;
                dv_b <= sr_y;
                dv_go <= 1'b1;
                cst <= C_RCP;
            end
            default: if (dv_done) begin  // C_RCP
                scale_q[32*cb +: 32] <= dv_y;
                scale_have[cb] <= 1'b1;
                cb <= ~cb;
                cst <= C_IDLE;
            end
            endcase
            // pass 2
            if (nw_take)
                nw_g <= nw_g + 1'b1;
            if (p2_take) begin
                rd_v <= 1'b1;
                if (p2_last) begin
                    p2_b <= {(XB_LOG2 + 1){1'b0}};
                    p2_row <= p2_row + 1'b1;
                    scale_have[p2_row[0]] <= 1'b0;
                end else begin
                    p2_b <= p2_b + 1'b1;
                end
            end
            // row buffers: taken by pass 1's first group, given back after pass 2's last read
            bfree <= (bfree & ~((p1_take && p1_g == {GW{1'b0}}) ? (2'b01 << p1_row[0]) : 2'b00))
                     | ((p2_take && p2_last) ? (2'b01 << p2_row[0]) : 2'b00);
            // completion
            if (out_valid) begin
                n_out <= n_out + 1'b1;
                if (n_out + 1'b1 == a_total) begin
                    run <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
