// hw/axi_rd_burst.vh: the burst request arithmetic shared by the AXI4 read masters
// axi_rd_stream and axi_rd_queue, `include'd inside them after BB / LOG_BB / DEPTH and their
// request state (req_left, req_addr, resv, n_out) are declared:
//   blen   the next burst: min(beats left, MAX_BURST, beats to the next 4 KB boundary)
//   issue  it may go now: no request waiting for ARREADY, beats left, fewer than MAX_OUT
//          bursts outstanding, and FIFO room for all its beats (so RREADY stays high)
//   span   the bytes from the beat-aligned start to the end of [addr, addr + len_bytes)
wire [12:0] to_4k_bytes = 13'd4096 - {1'b0, req_addr[11:0]};
wire [12:0] to_4k       = to_4k_bytes >> LOG_BB;  // 1 .. 4096 / BB
wire [12:0] max_b       = MAX_BURST[12:0];
wire [12:0] lim         = (to_4k < max_b) ? to_4k : max_b;
wire [12:0] blen        = (req_left < {19'd0, lim}) ? req_left[12:0] : lim;
wire [31:0] room        = DEPTH[31:0] - {{(31 - FIFO_LOG2){1'b0}}, resv};
wire        issue       = !m_axi_arvalid && (req_left != 32'd0) && (n_out < MAX_OUT[3:0]) &&
                          (room >= {19'd0, blen});
/* verilator lint_off UNUSED */
wire [63:0] span        = len_bytes + {{(64 - LOG_BB){1'b0}}, addr[LOG_BB-1:0]};
/* verilator lint_on UNUSED */
