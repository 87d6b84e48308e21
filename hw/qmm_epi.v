// hw/qmm_epi.v: the qmatmul epilogue and the y writer (docs/numerics.md, "qmatmul" step 5),
// bit-exact with mm_epilogue in hls/qmatmul.c: for every (row, token) pair
//   o = swiglu ? fl_silu(g) * u : g      fl_silu(g) = g / (1.0f + fl_exp(-g)), IEEE fp32
//   if resid: o = o + r[tt * n + row];   y[tt * n + row] = o
//
// Inputs come rows ascending, tokens 0 .. t-1 inside a row (valid/ready), but y and r are laid
// out (t, n), so the rows are handled in blocks of B = 2^BLK_LOG2 rows (all t tokens): the
// outputs of a block go into an on-chip ring (the y ring), and once the block is complete it is
// written as t bursts of contiguous words (one per token; split at 4 KB boundaries). With
// resid, the r words of the coming blocks are read the same way (t bursts a block) into a
// second ring (the r ring) ahead of the inputs, and each input takes its r word from there.
// Both rings hold 2^CAP_LOG2 words in WPB = DATA_W / 32 banks (bank = row % WPB), so a beat of
// any alignment reads or writes every bank once: one beat per cycle in and out; the ring has
// nslots = the largest power of two with nslots * t * B <= 2^CAP_LOG2 block slots (2 at
// t = 2^T_LOG2, 128 at t = 1 with the defaults: r is prefetched up to 4096 words ahead).
// The arithmetic is one pipeline, one input per cycle in every mode (no backpressure inside:
// an input is accepted only when its block's y slot is free and, with resid, its r block has
// arrived): exp (fp32_exp) -> 1 + e (fp32_add) -> g / d (fp32_div_pipe) -> * u (fp32_mul) ->
// + r (fp32_add); the steps of a flag that is off are bypassed.
//
// AXI: r_* reads INCR bursts of the full width (at most MAX_OUT outstanding, RREADY always high:
// the ring slot is reserved before the burst is issued); y_* writes INCR bursts with byte
// strobes (W beats may precede their AW), BREADY always high, at most 63 responses outstanding.
// `done` pulses once every y word is written and every write response is back.
`default_nettype none

module qmm_epi #(
    parameter integer DATA_W   = 512,  // 64, 128, 256 or 512
    parameter integer T_LOG2   = 6,    // t <= 2^T_LOG2
    parameter integer BLK_LOG2 = 5,    // rows per block, 2^BLK_LOG2 > DATA_W / 32
    parameter integer CAP_LOG2 = BLK_LOG2 + T_LOG2 + 1,  // words per ring (at least this)
    parameter integer MAX_OUT  = 8     // outstanding r bursts, 1..15
) (
    input  wire              clk,
    input  wire              rst,          // synchronous, active high
    input  wire              start,        // while idle: takes the arguments
    input  wire [63:0]       arg_r,        // 4-byte aligned; unused without resid
    input  wire [63:0]       arg_y,        // 4-byte aligned
    input  wire [31:0]       arg_n,        // >= 1
    input  wire [31:0]       arg_t,        // 1 .. 2^T_LOG2
    input  wire              swiglu,
    input  wire              resid,
    input  wire              in_valid,
    output wire              in_ready,
    input  wire [31:0]       in_g,
    input  wire [31:0]       in_u,
    output wire              busy,
    output reg               done,
    // ---- r (read) ----
    output reg               r_arvalid,
    input  wire              r_arready,
    output reg  [63:0]       r_araddr,
    output reg  [7:0]        r_arlen,
    output wire [2:0]        r_arsize,
    output wire [1:0]        r_arburst,
    input  wire              r_rvalid,
    output wire              r_rready,
    input  wire [DATA_W-1:0] r_rdata,
    input  wire              r_rlast,
    /* verilator lint_off UNUSED */
    input  wire [1:0]        r_rresp,
    /* verilator lint_on UNUSED */
    // ---- y (write) ----
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
    /* verilator lint_off UNUSED */
    input  wire [1:0]          y_bresp
    /* verilator lint_on UNUSED */
);
    localparam integer WPB     = DATA_W / 32;  // words per beat = banks
    localparam integer LOG_WPB = (WPB == 2) ? 1 : (WPB == 4) ? 2 : (WPB == 8) ? 3 : 4;
    localparam integer LOG_BB  = LOG_WPB + 2;
    localparam integer SW      = CAP_LOG2 - BLK_LOG2;  // slot * t + tt < 2^SW
    localparam integer AB      = CAP_LOG2 - LOG_WPB;   // bank address bits
    localparam integer BW      = BLK_LOG2 - LOG_WPB;   // bank words of one (slot, token)
    localparam integer LAT_E   = 4, LAT_A = 2, LAT_M = 2, LAT_D = 29;
    localparam integer LAT_S   = LAT_E + LAT_A + LAT_D + LAT_M;  // the SiLU * u steps
    localparam [31:0]  B       = 32'd1 << BLK_LOG2;
    localparam integer WF_LOG2 = 2;                   // W beat FIFO
    localparam integer AQ_LOG2 = 2;                   // AW FIFO

    // ---- arguments ----
    reg            run;
    reg [T_LOG2:0] a_t;
    reg            a_sw, a_rs;
    reg [SW-1:0]   a_mask;       // nslots - 1
    reg [31:0]     nblk;
    initial begin
        run = 1'b0;
        done = 1'b0;
    end
    assign busy = run;
    wire init = start && !run;

    // nslots: the largest 2^m with t * 2^m <= 2^SW
    reg [SW-1:0] mask_c;
    integer m;
    always @(*) begin
        mask_c = {SW{1'b0}};
        for (m = 1; m <= SW; m = m + 1)
            if ((arg_t << m) <= (32'd1 << SW))
                mask_c = {SW{1'b1}} >> (SW - m);
    end
    wire [SW:0] nslots = {1'b0, a_mask} + 1'b1;

    // ---- the three walkers: y beats, r bursts (addresses), r beats (data) ----
    wire               ww_fin, ww_first, ww_blast, ra_fin, ra_first, ra_blast, rd_fin, rd_first, rd_blast;
    wire [31:0]        ww_blk, ra_blk, rd_blk;
    wire [63:0]        ww_addr, ra_addr, rd_addr;
    wire [8:0]         ww_len, ra_len, rd_len;
    wire [LOG_WPB-1:0] ww_s, rd_s, ra_s;
    wire [BLK_LOG2:0]  ww_i, ww_c, rd_i, rd_c, ra_i, ra_c;
    wire [AB-1:0]      ww_sb, rd_sb, ra_sb;
    wire               w_go, ar_issue;
    wire               r_beat = r_rvalid;  // RREADY is always high
    qmm_epi_walk #(.DATA_W(DATA_W), .T_LOG2(T_LOG2), .BLK_LOG2(BLK_LOG2), .CAP_LOG2(CAP_LOG2))
    u_ww (.clk(clk), .rst(rst), .init(init), .base(arg_y), .n(arg_n), .t(arg_t[T_LOG2:0]),
          .slot_mask(mask_c), .step(w_go), .by_burst(1'b0), .fin(ww_fin), .blk(ww_blk),
          .addr(ww_addr), .len(ww_len), .first(ww_first), .blk_last(ww_blast), .s(ww_s),
          .i(ww_i), .c(ww_c), .sbase(ww_sb));
    qmm_epi_walk #(.DATA_W(DATA_W), .T_LOG2(T_LOG2), .BLK_LOG2(BLK_LOG2), .CAP_LOG2(CAP_LOG2))
    u_ra (.clk(clk), .rst(rst), .init(init), .base(arg_r), .n(arg_n), .t(arg_t[T_LOG2:0]),
          .slot_mask(mask_c), .step(ar_issue), .by_burst(1'b1), .fin(ra_fin), .blk(ra_blk),
          .addr(ra_addr), .len(ra_len), .first(ra_first), .blk_last(ra_blast), .s(ra_s),
          .i(ra_i), .c(ra_c), .sbase(ra_sb));
    qmm_epi_walk #(.DATA_W(DATA_W), .T_LOG2(T_LOG2), .BLK_LOG2(BLK_LOG2), .CAP_LOG2(CAP_LOG2))
    u_rd (.clk(clk), .rst(rst), .init(init), .base(arg_r), .n(arg_n), .t(arg_t[T_LOG2:0]),
          .slot_mask(mask_c), .step(r_beat), .by_burst(1'b0), .fin(rd_fin), .blk(rd_blk),
          .addr(rd_addr), .len(rd_len), .first(rd_first), .blk_last(rd_blast), .s(rd_s),
          .i(rd_i), .c(rd_c), .sbase(rd_sb));

    // lanes of beat i of a segment (first word at lane s, c words) that hold segment words
    function automatic [WPB-1:0] lanes(input [BLK_LOG2:0] li, input [LOG_WPB-1:0] ls,
                                       input [BLK_LOG2:0] lc);
        integer l;
        reg [BLK_LOG2+LOG_WPB+1:0] v;
        begin
            for (l = 0; l < WPB; l = l + 1) begin
                v = {1'b0, li, l[LOG_WPB-1:0]};
                lanes[l] = (v >= {{(BLK_LOG2 + 2){1'b0}}, ls}) &&
                           (v < {{(BLK_LOG2 + 2){1'b0}}, ls} + {{LOG_WPB{1'b0}}, 1'b0, lc});
            end
        end
    endfunction

    // lane l of beat i of such a segment holds a segment word
    function automatic lane_in(input [BLK_LOG2:0] li, input [LOG_WPB-1:0] ls,
                               input [BLK_LOG2:0] lc, input [LOG_WPB-1:0] l);
        reg [BLK_LOG2+LOG_WPB+1:0] v;
        begin
            v = {1'b0, li, l};
            lane_in = (v >= {{(BLK_LOG2 + 2){1'b0}}, ls}) &&
                      (v < {{(BLK_LOG2 + 2){1'b0}}, ls} + {{LOG_WPB{1'b0}}, 1'b0, lc});
        end
    endfunction

    // ---- inputs: (row, token) counters and the acceptance rule ----
    reg [BLK_LOG2-1:0] in_j;        // row within the block
    reg [T_LOG2-1:0]   in_tt;
    reg [31:0]         in_blk;
    reg [31:0]         in_rows;     // rows from the block's first to n
    reg [SW-1:0]       in_slot, in_sbase;
    reg [31:0]         y_rdy;       // blocks whose every output is in the y ring
    wire [BLK_LOG2:0]  in_c = (in_rows < B) ? in_rows[BLK_LOG2:0] : B[BLK_LOG2:0];
    wire               in_fin = (in_blk == nblk);
    wire               in_last_row = ({1'b0, in_j} == in_c - 1'b1);
    wire               in_tt_last = ({1'b0, in_tt} == a_t - 1'b1);
    wire [31:0]        y_ahead = in_blk - ww_blk;
    assign in_ready = run && !in_fin && (y_ahead < {{(31 - SW){1'b0}}, nslots}) &&
                      (!a_rs || in_blk != rd_blk);
    wire               acc = in_valid && in_ready;
    wire [SW-1:0]      in_st = in_sbase + {{(SW - T_LOG2){1'b0}}, in_tt};
    wire [AB-1:0]      in_baddr = {in_st, {BW{1'b0}}} +
                                  {{(AB - BW){1'b0}}, in_j[BLK_LOG2-1:LOG_WPB]};
    wire [LOG_WPB-1:0] in_bank = in_j[LOG_WPB-1:0];
    /* verilator lint_off UNUSED */
    wire [31:0]        t32 = {{(31 - T_LOG2){1'b0}}, a_t};
    /* verilator lint_on UNUSED */

    // ---- the r ring: written by r beats, read by the inputs ----
    // bank b takes lane (b + s) % WPB of an r beat (when that lane holds a segment word)
    wire [32*WPB-1:0]   rq_all;
    // ---- the y ring: written by the pipeline, read by the W walker ----
    reg                 c_v, c_end;
    reg [31:0]          c_o;
    reg [LOG_WPB-1:0]   c_bank;
    reg [AB-1:0]        c_baddr;
    wire [32*WPB-1:0]   yq_all;
    /* verilator lint_off UNUSED */
    wire [31:0]         rd_i32 = {{(31 - BLK_LOG2){1'b0}}, rd_i};
    wire [31:0]         ww_i32 = {{(31 - BLK_LOG2){1'b0}}, ww_i};
    /* verilator lint_on UNUSED */
    genvar gb;
    generate
        for (gb = 0; gb < WPB; gb = gb + 1) begin : g_bank
            reg [31:0] rmem [0:(1 << AB) - 1];
            reg [31:0] ymem [0:(1 << AB) - 1];
            reg [31:0] rq, yq;
            localparam [LOG_WPB:0] GB = gb;
            wire [LOG_WPB:0] rl = {1'b0, rd_s} + GB;     // lane, and the wrap bit
            wire       rwrap = rl[LOG_WPB];
            wire       wwrap = ({1'b0, ww_s} + GB >= WPB[LOG_WPB:0]);
            wire [AB-1:0] r_wa = rd_sb + rd_i32[AB-1:0] - {{(AB - 1){1'b0}}, rwrap};
            wire [AB-1:0] y_ra = ww_sb + ww_i32[AB-1:0] - {{(AB - 1){1'b0}}, wwrap};
            // the reads only in the cycles whose result is used: an accepted input (its r
            // word, a_r in the next cycle) and a W beat (p_v in the next cycle)
            always @(posedge clk) begin
                if (r_beat && run && lane_in(rd_i, rd_s, rd_c, rl[LOG_WPB-1:0]))
                    rmem[r_wa] <= r_rdata[32*rl[LOG_WPB-1:0] +: 32];
                if (acc)
                    rq <= rmem[in_baddr];
                if (c_v && c_bank == gb)
                    ymem[c_baddr] <= c_o;
                if (w_go)
                    yq <= ymem[y_ra];
            end
            assign rq_all[32*gb +: 32] = rq;
            assign yq_all[32*gb +: 32] = yq;
        end
    endgenerate

    // ---- the pipeline ----
    // stage A: the accepted input (its r word arrives from the ring in the same cycle)
    reg               a_v, a_end;
    reg [31:0]        a_g, a_u;
    reg [LOG_WPB-1:0] a_bank;
    reg [AB-1:0]      a_baddr;
    initial a_v = 1'b0;
    wire [31:0]       a_r = rq_all[32*a_bank +: 32];
    // SiLU(g) * u
    wire        e_v, d_v, q_v, s_uv;
    wire [31:0] e_y, d_y, q_y, s_y, g_d, u_d;
    fp32_exp #(.LATENCY(LAT_E)) u_exp (
        .clk(clk), .in_valid(a_v && a_sw), .x({~a_g[31], a_g[30:0]}), .out_valid(e_v), .y(e_y));
    fp32_add #(.LATENCY(LAT_A)) u_den (
        .clk(clk), .in_valid(e_v), .a(32'h3f80_0000), .b(e_y), .out_valid(d_v), .y(d_y));
    wire        gd_v, ud_v;
    fp_pipe #(.W(32), .LATENCY(LAT_E + LAT_A)) u_gd (
        .clk(clk), .in_valid(a_v), .in_data(a_g), .out_valid(gd_v), .out_data(g_d));
    fp32_div_pipe u_div (.clk(clk), .in_valid(d_v), .a(g_d), .b(d_y), .out_valid(q_v), .y(q_y));
    fp_pipe #(.W(32), .LATENCY(LAT_E + LAT_A + LAT_D)) u_ud (
        .clk(clk), .in_valid(a_v), .in_data(a_u), .out_valid(ud_v), .out_data(u_d));
    fp32_mul #(.LATENCY(LAT_M)) u_mul (
        .clk(clk), .in_valid(q_v), .a(q_y), .b(u_d), .out_valid(s_uv), .y(s_y));
    // the valid bits that count are these resettable copies (the fp units' own valid bits have
    // no reset), so a reset in the middle of a call leaves nothing behind in the pipeline
    reg  [LAT_S-1:0] sv_sh;
    reg  [LAT_A-1:0] rv_sh;
    initial begin
        sv_sh = {LAT_S{1'b0}};
        rv_sh = {LAT_A{1'b0}};
    end
    wire        s_v = sv_sh[LAT_S-1];
    localparam integer SIDE_W = 32 + LOG_WPB + AB + 1;
    wire              sd_v;
    wire [SIDE_W-1:0] sd;
    fp_pipe #(.W(SIDE_W), .LATENCY(LAT_S)) u_sd (
        .clk(clk), .in_valid(a_v), .in_data({a_r, a_bank, a_baddr, a_end}), .out_valid(sd_v),
        .out_data(sd));
    // stage B: the SiLU result or g
    wire              b_v = a_sw ? s_v : a_v;
    wire [31:0]       b_o = a_sw ? s_y : a_g;
    wire [SIDE_W-1:0] b_side = a_sw ? sd : {a_r, a_bank, a_baddr, a_end};
    wire [31:0]       b_r = b_side[SIDE_W-1 -: 32];
    // + r
    wire        p_ruv, p_sv;
    wire        p_rv = rv_sh[LAT_A-1];
    wire [31:0] p_ry;
    wire [SIDE_W-33:0] p_side;
    fp32_add #(.LATENCY(LAT_A)) u_res (
        .clk(clk), .in_valid(b_v && a_rs), .a(b_o), .b(b_r), .out_valid(p_ruv), .y(p_ry));
    fp_pipe #(.W(SIDE_W - 32), .LATENCY(LAT_A)) u_rs (
        .clk(clk), .in_valid(b_v), .in_data(b_side[SIDE_W-33:0]), .out_valid(p_sv),
        .out_data(p_side));
    wire unused_v = &{1'b0, gd_v, ud_v, sd_v, p_sv, s_uv, p_ruv};
    // stage C (registered): the output word and where it goes in the y ring
    initial c_v = 1'b0;
    always @(posedge clk) begin
        if (rst) begin
            a_v <= 1'b0;
            c_v <= 1'b0;
            sv_sh <= {LAT_S{1'b0}};
            rv_sh <= {LAT_A{1'b0}};
        end else begin
            a_v <= acc;
            c_v <= a_rs ? p_rv : b_v;
            sv_sh <= {sv_sh[LAT_S-2:0], a_v && a_sw};
            rv_sh <= {rv_sh[LAT_A-2:0], b_v && a_rs};
        end
        a_g <= in_g;
        a_u <= in_u;
        a_bank <= in_bank;
        a_baddr <= in_baddr;
        a_end <= in_last_row && in_tt_last;
        c_o <= a_rs ? p_ry : b_o;
        {c_bank, c_baddr, c_end} <= a_rs ? p_side : b_side[SIDE_W-33:0];
    end

    // ---- y writer: W beats from the ring (one read cycle), AW per burst ----
    reg [DATA_W+WPB:0] wf [0:(1 << WF_LOG2) - 1];  // {last, lane strobes, data}
    reg [WF_LOG2:0]    wf_wp, wf_rp;
    reg [71:0]         aq [0:(1 << AQ_LOG2) - 1];  // {len - 1, address}
    reg [AQ_LOG2:0]    aq_wp, aq_rp;
    reg [5:0]          n_resp;
    reg                p_v, p_last;
    reg [LOG_WPB-1:0]  p_s;
    reg [WPB-1:0]      p_lanes;
    initial begin
        wf_wp = {(WF_LOG2 + 1){1'b0}};
        wf_rp = {(WF_LOG2 + 1){1'b0}};
        aq_wp = {(AQ_LOG2 + 1){1'b0}};
        aq_rp = {(AQ_LOG2 + 1){1'b0}};
        n_resp = 6'd0;
        p_v = 1'b0;
    end
    wire [WF_LOG2:0] wf_cnt = wf_wp - wf_rp;
    wire [AQ_LOG2:0] aq_cnt = aq_wp - aq_rp;
    wire wf_room = ({1'b0, wf_cnt} + {{WF_LOG2{1'b0}}, 1'b0, p_v}) < (1 << WF_LOG2);
    wire aq_room = (aq_cnt != (1 << AQ_LOG2));
    assign w_go = run && !ww_fin && (ww_blk != y_rdy) && wf_room && (!ww_first || aq_room);
    // a W beat's data: lane L from bank (L - s) % WPB (evaluated in p_v cycles only)
    function automatic [DATA_W-1:0] y_rot(input [32*WPB-1:0] yq, input [LOG_WPB-1:0] rs);
        /* verilator lint_off UNUSED */
        reg [2*DATA_W-1:0] r2;
        /* verilator lint_on UNUSED */
        begin
            r2 = {yq, yq} << {rs, 5'd0};
            y_rot = r2[2*DATA_W-1:DATA_W];
        end
    endfunction
    wire [DATA_W+WPB:0] wf_head = wf[wf_rp[WF_LOG2-1:0]];
    wire [71:0]         aq_head = aq[aq_rp[AQ_LOG2-1:0]];
    assign y_wvalid  = (wf_cnt != 0);
    assign y_wdata   = wf_head[DATA_W-1:0];
    assign y_wlast   = wf_head[DATA_W+WPB];
    genvar gs;
    generate
        for (gs = 0; gs < WPB; gs = gs + 1) begin : g_strb
            assign y_wstrb[4*gs +: 4] = {4{wf_head[DATA_W+gs]}};
        end
    endgenerate
    assign y_awvalid = (aq_cnt != 0) && (n_resp != 6'h3f);
    assign y_awaddr  = aq_head[63:0];
    assign y_awlen   = aq_head[71:64];
    assign y_awsize  = LOG_BB[2:0];
    assign y_awburst = 2'b01;
    assign y_bready  = 1'b1;
    wire w_fire  = y_wvalid && y_wready;
    wire aw_fire = y_awvalid && y_awready;

    // ---- r reader: one burst per step of u_ra, into a reserved ring slot ----
    reg [3:0] n_rd;
    initial begin
        r_arvalid = 1'b0;
        n_rd = 4'd0;
    end
    assign r_arsize  = LOG_BB[2:0];
    assign r_arburst = 2'b01;
    assign r_rready  = 1'b1;
    wire [31:0] r_ahead = ra_blk - in_blk;
    assign ar_issue = run && a_rs && !ra_fin && (!r_arvalid || r_arready) &&
                      (n_rd < MAX_OUT[3:0]) && (r_ahead < {{(31 - SW){1'b0}}, nslots});

    wire unused_w = &{1'b0, ra_first, ra_blast, rd_fin, rd_first, rd_blast, ww_blast,
                      ra_s, ra_i, ra_c, ra_sb, rd_addr, rd_len, r_rlast, t32[31:T_LOG2+1],
                      ra_len[8]};

    always @(posedge clk) begin
        done <= 1'b0;
        // W FIFO / AW FIFO entries
        if (p_v)
            wf[wf_wp[WF_LOG2-1:0]] <= {p_last, p_lanes, y_rot(yq_all, p_s)};
        if (w_go && ww_first)
            aq[aq_wp[AQ_LOG2-1:0]] <= {ww_len[7:0] - 8'd1, ww_addr};
        if (w_go) begin
            p_s <= ww_s;
            p_lanes <= lanes(ww_i, ww_s, ww_c);
            p_last <= (ww_len == 9'd1);
        end
        if (rst) begin
            run <= 1'b0;
            p_v <= 1'b0;
            wf_wp <= {(WF_LOG2 + 1){1'b0}};
            wf_rp <= {(WF_LOG2 + 1){1'b0}};
            aq_wp <= {(AQ_LOG2 + 1){1'b0}};
            aq_rp <= {(AQ_LOG2 + 1){1'b0}};
            n_resp <= 6'd0;
            r_arvalid <= 1'b0;
            n_rd <= 4'd0;
        end else begin
            p_v <= w_go;
            if (p_v)
                wf_wp <= wf_wp + 1'b1;
            if (w_fire)
                wf_rp <= wf_rp + 1'b1;
            if (w_go && ww_first)
                aq_wp <= aq_wp + 1'b1;
            if (aw_fire)
                aq_rp <= aq_rp + 1'b1;
            n_resp <= n_resp + {5'd0, aw_fire} - {5'd0, y_bvalid};
            if (ar_issue) begin
                r_arvalid <= 1'b1;
                r_araddr <= ra_addr;
                r_arlen <= ra_len[7:0] - 8'd1;
            end else if (r_arready) begin
                r_arvalid <= 1'b0;
            end
            n_rd <= n_rd + {3'd0, ar_issue} - {3'd0, r_rvalid && r_rlast};
            if (init) begin
                run <= 1'b1;
                a_t <= arg_t[T_LOG2:0];
                a_sw <= swiglu;
                a_rs <= resid;
                a_mask <= mask_c;
                nblk <= (arg_n >> BLK_LOG2) + {31'd0, |arg_n[BLK_LOG2-1:0]};
                in_j <= {BLK_LOG2{1'b0}};
                in_tt <= {T_LOG2{1'b0}};
                in_blk <= 32'd0;
                in_rows <= arg_n;
                in_slot <= {SW{1'b0}};
                in_sbase <= {SW{1'b0}};
                y_rdy <= 32'd0;
            end else if (run) begin
                if (acc) begin
                    if (!in_tt_last) begin
                        in_tt <= in_tt + 1'b1;
                    end else begin
                        in_tt <= {T_LOG2{1'b0}};
                        if (!in_last_row) begin
                            in_j <= in_j + 1'b1;
                        end else begin
                            in_j <= {BLK_LOG2{1'b0}};
                            in_blk <= in_blk + 32'd1;
                            in_rows <= (in_rows > B) ? in_rows - B : 32'd0;
                            if (in_slot == a_mask) begin
                                in_slot <= {SW{1'b0}};
                                in_sbase <= {SW{1'b0}};
                            end else begin
                                in_slot <= in_slot + 1'b1;
                                in_sbase <= in_sbase + t32[SW-1:0];
                            end
                        end
                    end
                end
                if (c_v && c_end)
                    y_rdy <= y_rdy + 32'd1;
                if (ww_fin && !p_v && wf_cnt == 0 && aq_cnt == 0 && n_resp == 6'd0) begin
                    run <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
