// hw/axi_rd_queue.v: AXI4 read master that streams byte ranges of memory out as full-width
// beats, ranges queued back to back, up to two beats a cycle to the consumer (the qmatmul
// weight streams: the next call's weights are requested while the current call drains).
//
// Requests are issued as in axi_rd_stream: the beats that cover [addr, addr + len_bytes), from
// addr rounded down to the beat, as INCR bursts of the full data width, each min(beats left,
// MAX_BURST, beats to the next 4 KB boundary), issued only when the FIFO has room for all of
// its beats (counting beats requested and not yet taken), so RREADY is always high; at most
// MAX_OUT bursts outstanding.
// Command: `start` is taken while `start_ready` (every request of the previous range issued,
// which may be long before its beats are out): a second range is queued behind the first and
// its requests follow the first's without a gap. len_bytes must be > 0 (the caller's job).
// Out: out_valid[0] / out_data0 is the FIFO head, out_valid[1] / out_data1 the beat behind it;
// out_last0 / out_last1 mark the final beat of a range (each beat carries its own mark, so the
// consumer stops at a range's end and leaves the next range's beats in the FIFO). The
// consumer takes out_take beats a cycle: 0, 1 (the head) or 2 (both; only with out_valid[1]).
// `busy`: a range not completely taken out. rst drops everything.
// Burst tags: each issued burst carries "final burst of its range" in a small FIFO (bursts are
// answered in order), so the mark needs no per-range counter and any number of ranges may be
// in flight.
// The FIFO (2^FIFO_LOG2 beats, first word fall through, two read ports) is a register array
// here; a BRAM with a registered read (two banks, even / odd addresses) is the synthesis form.
`default_nettype none

module axi_rd_queue #(
    parameter integer DATA_W    = 512,  // 64, 128, 256 or 512
    parameter integer MAX_BURST = 64,   // beats per burst, 1..256, <= 2^FIFO_LOG2
    parameter integer MAX_OUT   = 4,    // outstanding bursts, 1..15
    parameter integer FIFO_LOG2 = 9
) (
    input  wire              clk,
    input  wire              rst,          // synchronous, active high
    // ---- command ----
    input  wire              start,
    output wire              start_ready,
    input  wire [63:0]       addr,
    input  wire [63:0]       len_bytes,    // 1 .. under 2^32 beats
    output wire              busy,
    // ---- AXI4 read address / data ----
    output reg               m_axi_arvalid,
    input  wire              m_axi_arready,
    output reg  [63:0]       m_axi_araddr,
    output reg  [7:0]        m_axi_arlen,
    output wire [2:0]        m_axi_arsize,
    output wire [1:0]        m_axi_arburst,
    input  wire              m_axi_rvalid,
    output wire              m_axi_rready,
    input  wire [DATA_W-1:0] m_axi_rdata,
    input  wire              m_axi_rlast,
    /* verilator lint_off UNUSED */
    input  wire [1:0]        m_axi_rresp,
    /* verilator lint_on UNUSED */
    // ---- stream out: two beats a cycle ----
    output wire [1:0]        out_valid,
    output wire [DATA_W-1:0] out_data0,
    output wire [DATA_W-1:0] out_data1,
    output wire              out_last0,
    output wire              out_last1,
    input  wire [1:0]        out_take      // beats taken this cycle: 0, 1 or 2
);
    localparam integer BB     = DATA_W / 8;  // bytes per beat
    localparam integer LOG_BB = (BB == 8) ? 3 : (BB == 16) ? 4 : (BB == 32) ? 5 : 6;
    localparam integer DEPTH  = 1 << FIFO_LOG2;

    assign m_axi_arsize  = LOG_BB[2:0];
    assign m_axi_arburst = 2'b01;  // INCR
    assign m_axi_rready  = 1'b1;   // room reserved at issue

    // ---- request state ----
    reg  [31:0]        req_left;   // beats of the current range not yet requested
    reg  [63:0]        req_addr;   // next request address
    reg  [FIFO_LOG2:0] resv;       // FIFO slots reserved: requested beats not yet taken out
    reg  [3:0]         n_out;      // bursts issued, last beat not yet received
    initial begin
        req_left = 32'd0;
        resv = {(FIFO_LOG2 + 1){1'b0}};
        n_out = 4'd0;
        m_axi_arvalid = 1'b0;
    end
    assign start_ready = (req_left == 32'd0);

`include "axi_rd_burst.vh"
    wire [31:0] n_beats = span[LOG_BB+31:LOG_BB] + {31'd0, |span[LOG_BB-1:0]};

    // ---- burst tags: 1 = the final burst of its range (16 entries >= MAX_OUT) ----
    reg [15:0] tag;
    reg [3:0]  tag_wp, tag_rp;
    initial begin
        tag_wp = 4'd0;
        tag_rp = 4'd0;
    end
    wire r_fire = m_axi_rvalid;  // rready is always high

    // ---- FIFO: data and the last marks ----
    reg [DATA_W-1:0]   mem [0:DEPTH-1];
    reg [DEPTH-1:0]    lastm;
    reg [FIFO_LOG2:0]  wp, rp;
    initial begin
        wp = {(FIFO_LOG2 + 1){1'b0}};
        rp = {(FIFO_LOG2 + 1){1'b0}};
    end
    wire [FIFO_LOG2:0]   count = wp - rp;
    wire [FIFO_LOG2-1:0] rp0 = rp[FIFO_LOG2-1:0];
    wire [FIFO_LOG2-1:0] rp1 = rp0 + 1'b1;
    assign out_valid = {count > 1, count != 0};
    assign out_data0 = mem[rp0];
    assign out_data1 = mem[rp1];
    assign out_last0 = lastm[rp0];
    assign out_last1 = lastm[rp1];
    assign busy = (req_left != 32'd0) || (n_out != 4'd0) || (count != 0);

    always @(posedge clk) begin
        if (r_fire) begin
            mem[wp[FIFO_LOG2-1:0]] <= m_axi_rdata;
            lastm[wp[FIFO_LOG2-1:0]] <= m_axi_rlast && tag[tag_rp];
        end
        if (issue)
            tag[tag_wp] <= (req_left[12:0] == blen) && (req_left[31:13] == 19'd0);
        if (rst) begin
            req_left <= 32'd0;
            resv <= {(FIFO_LOG2 + 1){1'b0}};
            n_out <= 4'd0;
            m_axi_arvalid <= 1'b0;
            wp <= {(FIFO_LOG2 + 1){1'b0}};
            rp <= {(FIFO_LOG2 + 1){1'b0}};
            tag_wp <= 4'd0;
            tag_rp <= 4'd0;
        end else begin
            if (start && start_ready) begin
                req_left <= n_beats;
                req_addr <= {addr[63:LOG_BB], {LOG_BB{1'b0}}};
            end else if (issue) begin
                m_axi_arvalid <= 1'b1;
                m_axi_araddr <= req_addr;
                m_axi_arlen <= blen[7:0] - 8'd1;
                req_left <= req_left - {19'd0, blen};
                req_addr <= req_addr + ({51'd0, blen} << LOG_BB);
            end
            if (m_axi_arvalid && m_axi_arready)
                m_axi_arvalid <= 1'b0;
            if (issue)
                tag_wp <= tag_wp + 4'd1;
            if (r_fire && m_axi_rlast)
                tag_rp <= tag_rp + 4'd1;
            resv <= resv + (issue ? blen[FIFO_LOG2:0] : {(FIFO_LOG2 + 1){1'b0}})
                         - {{(FIFO_LOG2 - 1){1'b0}}, out_take};
            n_out <= n_out + {3'd0, issue} - {3'd0, r_fire && m_axi_rlast};
            if (r_fire)
                wp <= wp + 1'b1;
            rp <= rp + {{(FIFO_LOG2 - 1){1'b0}}, out_take};
        end
    end
endmodule

`default_nettype wire
