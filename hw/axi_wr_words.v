// hw/axi_wr_words.v: AXI4 write master for a stream of 32-bit words, each to its own byte
// address (4-byte aligned): every word is one single-beat INCR burst of the full data width
// with the word's four byte strobes set (the simplest correct master; coalescing consecutive
// words into bursts is the refinement a long y needs).
//
// Words queue in a FIFO of 2^FIFO_LOG2 entries (in_ready while not full); the head word's AW
// and W go out independently (each waits for its READY) and the entry leaves once both have
// been taken. BREADY is always high; `idle` is high when the FIFO is empty and every write's
// response has come back (at most 2^CNT_W - 1 outstanding responses: AW stalls at the limit).
// BRESP is not checked.
`default_nettype none

module axi_wr_words #(
    parameter integer DATA_W    = 512,  // 64, 128, 256 or 512
    parameter integer FIFO_LOG2 = 5,
    parameter integer CNT_W     = 6
) (
    input  wire                clk,
    input  wire                rst,        // synchronous, active high
    input  wire                in_valid,
    output wire                in_ready,
    /* verilator lint_off UNUSED */
    input  wire [63:0]         in_addr,    // 4-byte aligned (bits 1:0 ignored)
    /* verilator lint_on UNUSED */
    input  wire [31:0]         in_data,
    output wire                idle,
    output wire                taken,      // pulse: a word left the FIFO (its AW and W sent)
    // ---- AXI4 write address / data / response ----
    output wire                m_axi_awvalid,
    input  wire                m_axi_awready,
    output wire [63:0]         m_axi_awaddr,
    output wire [7:0]          m_axi_awlen,
    output wire [2:0]          m_axi_awsize,
    output wire [1:0]          m_axi_awburst,
    output wire                m_axi_wvalid,
    input  wire                m_axi_wready,
    output wire [DATA_W-1:0]   m_axi_wdata,
    output wire [DATA_W/8-1:0] m_axi_wstrb,
    output wire                m_axi_wlast,
    input  wire                m_axi_bvalid,
    output wire                m_axi_bready,
    /* verilator lint_off UNUSED */
    input  wire [1:0]          m_axi_bresp
    /* verilator lint_on UNUSED */
);
    localparam integer BB     = DATA_W / 8;
    localparam integer LOG_BB = (BB == 8) ? 3 : (BB == 16) ? 4 : (BB == 32) ? 5 : 6;
    localparam integer DEPTH  = 1 << FIFO_LOG2;

    // ---- FIFO of (address, word) ----
    reg [63:2]        f_addr [0:DEPTH-1];
    reg [31:0]        f_data [0:DEPTH-1];
    reg [FIFO_LOG2:0] wp, rp;
    reg               aw_sent, w_sent;  // the head entry's AW / W already taken
    reg [CNT_W-1:0]   n_resp;           // AWs taken, B not yet received
    initial begin
        wp = {(FIFO_LOG2 + 1){1'b0}};
        rp = {(FIFO_LOG2 + 1){1'b0}};
        aw_sent = 1'b0;
        w_sent = 1'b0;
        n_resp = {CNT_W{1'b0}};
    end
    wire [FIFO_LOG2:0] count = wp - rp;
    wire               head  = (wp != rp);
    assign in_ready = (count != DEPTH[FIFO_LOG2:0]);
    assign idle     = !head && (n_resp == {CNT_W{1'b0}});

    wire [63:2]        h_addr = f_addr[rp[FIFO_LOG2-1:0]];
    wire [31:0]        h_data = f_data[rp[FIFO_LOG2-1:0]];
    wire [LOG_BB-3:0]  lane   = h_addr[LOG_BB-1:2];  // 32-bit lane within the beat

    assign m_axi_awvalid = head && !aw_sent && (n_resp != {CNT_W{1'b1}});
    assign m_axi_awaddr  = {h_addr[63:LOG_BB], {LOG_BB{1'b0}}};
    assign m_axi_awlen   = 8'd0;
    assign m_axi_awsize  = LOG_BB[2:0];
    assign m_axi_awburst = 2'b01;
    assign m_axi_wvalid  = head && !w_sent;
    assign m_axi_wdata   = {(DATA_W / 32){h_data}};
    assign m_axi_wstrb   = {{(BB - 4){1'b0}}, 4'hf} << {lane, 2'b00};
    assign m_axi_wlast   = 1'b1;
    assign m_axi_bready  = 1'b1;

    wire aw_fire  = m_axi_awvalid && m_axi_awready;
    wire w_fire   = m_axi_wvalid && m_axi_wready;
    wire aw_done  = aw_sent || aw_fire;
    wire w_done   = w_sent || w_fire;
    wire pop      = head && aw_done && w_done;
    wire push     = in_valid && in_ready;
    assign taken  = pop;

    always @(posedge clk) begin
        if (push) begin
            f_addr[wp[FIFO_LOG2-1:0]] <= in_addr[63:2];
            f_data[wp[FIFO_LOG2-1:0]] <= in_data;
        end
        if (rst) begin
            wp <= {(FIFO_LOG2 + 1){1'b0}};
            rp <= {(FIFO_LOG2 + 1){1'b0}};
            aw_sent <= 1'b0;
            w_sent <= 1'b0;
            n_resp <= {CNT_W{1'b0}};
        end else begin
            if (push)
                wp <= wp + 1'b1;
            if (pop) begin
                rp <= rp + 1'b1;
                aw_sent <= 1'b0;
                w_sent <= 1'b0;
            end else begin
                aw_sent <= aw_done;
                w_sent <= w_done;
            end
            n_resp <= n_resp + {{(CNT_W - 1){1'b0}}, aw_fire}
                             - {{(CNT_W - 1){1'b0}}, m_axi_bvalid};
        end
    end
endmodule
