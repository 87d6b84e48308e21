// hw/axi_rd_stream.v: AXI4 read master that streams a byte range of memory out as full-width
// beats (valid/ready), in address order.
//
// `start` (while idle) latches `addr` (any byte address) and `len_bytes`; the range is read as
// the beats that cover it, from addr rounded down to the beat (DATA_W/8 bytes): the first beat
// carries addr % (DATA_W/8) bytes before the range and the last may carry bytes past it (the
// consumer knows the address and the length and drops them). Requests are INCR bursts of the
// full data width, each min(beats left, MAX_BURST, beats to the next 4 KB boundary) long. A
// burst is issued only when the output FIFO has room for all its beats (counting beats already
// requested), so RREADY is always high and the memory is never stalled by the consumer; at
// most MAX_OUT bursts are outstanding. out_last marks the range's final beat; `done` pulses
// the cycle it is taken. A zero length finishes at once (`done` the cycle after `start`, no
// beat). RRESP is not checked (the memory model always answers OKAY).
// The FIFO (2^FIFO_LOG2 beats, first word fall through) is a register array here; a BRAM
// with a registered read is the synthesis refinement.
`default_nettype none

module axi_rd_stream #(
    parameter integer DATA_W    = 512,  // 64, 128, 256 or 512
    parameter integer MAX_BURST = 64,   // beats per burst, 1..256, <= 2^FIFO_LOG2
    parameter integer MAX_OUT   = 4,    // outstanding bursts, 1..15
    parameter integer FIFO_LOG2 = 8
) (
    input  wire              clk,
    input  wire              rst,        // synchronous, active high: drops the current range
    // ---- command ----
    input  wire              start,
    input  wire [63:0]       addr,
    input  wire [63:0]       len_bytes,  // under 2^32 beats
    output wire              busy,
    output reg               done,
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
    // ---- stream out ----
    output wire              out_valid,
    input  wire              out_ready,
    output wire [DATA_W-1:0] out_data,
    output wire              out_last
);
    localparam integer BB     = DATA_W / 8;  // bytes per beat
    localparam integer LOG_BB = (BB == 8) ? 3 : (BB == 16) ? 4 : (BB == 32) ? 5 : 6;
    localparam integer DEPTH  = 1 << FIFO_LOG2;

    assign m_axi_arsize  = LOG_BB[2:0];
    assign m_axi_arburst = 2'b01;  // INCR
    assign m_axi_rready  = 1'b1;   // room reserved at issue

    // ---- request state ----
    reg  [31:0]          req_left;   // beats not yet requested
    reg  [63:0]          req_addr;   // next request address
    reg  [31:0]          out_left;   // beats not yet handed out
    reg  [FIFO_LOG2:0]   resv;       // FIFO slots reserved: requested beats not yet taken out
    reg  [3:0]           n_out;      // bursts issued, last beat not yet received
    initial begin
        req_left = 32'd0;
        out_left = 32'd0;
        resv = {(FIFO_LOG2 + 1){1'b0}};
        n_out = 4'd0;
        m_axi_arvalid = 1'b0;
        done = 1'b0;
    end

`include "axi_rd_burst.vh"

    // ---- FIFO ----
    reg [DATA_W-1:0]   mem [0:DEPTH-1];
    reg [FIFO_LOG2:0]  wp, rp;
    initial begin
        wp = {(FIFO_LOG2 + 1){1'b0}};
        rp = {(FIFO_LOG2 + 1){1'b0}};
    end
    wire r_fire = m_axi_rvalid;  // rready is always high
    wire pop    = out_valid && out_ready;
    assign out_valid = (wp != rp);
    assign out_data  = mem[rp[FIFO_LOG2-1:0]];
    assign out_last  = (out_left == 32'd1);
    assign busy      = (out_left != 32'd0);

    wire [31:0] n_beats = (len_bytes == 64'd0) ? 32'd0 :
                          span[LOG_BB+31:LOG_BB] + {31'd0, |span[LOG_BB-1:0]};

    always @(posedge clk) begin
        done <= 1'b0;
        if (r_fire)
            mem[wp[FIFO_LOG2-1:0]] <= m_axi_rdata;
        if (rst) begin
            req_left <= 32'd0;
            out_left <= 32'd0;
            resv <= {(FIFO_LOG2 + 1){1'b0}};
            n_out <= 4'd0;
            m_axi_arvalid <= 1'b0;
            wp <= {(FIFO_LOG2 + 1){1'b0}};
            rp <= {(FIFO_LOG2 + 1){1'b0}};
        end else begin
            if (start && !busy) begin
                req_left <= n_beats;
                out_left <= n_beats;
                req_addr <= {addr[63:LOG_BB], {LOG_BB{1'b0}}};
                if (n_beats == 32'd0)
                    done <= 1'b1;
            end else if (issue) begin
                m_axi_arvalid <= 1'b1;
                m_axi_araddr <= req_addr;
                m_axi_arlen <= blen[7:0] - 8'd1;
                req_left <= req_left - {19'd0, blen};
                req_addr <= req_addr + ({51'd0, blen} << LOG_BB);
            end
            if (m_axi_arvalid && m_axi_arready)
                m_axi_arvalid <= 1'b0;
            resv <= resv + (issue ? blen[FIFO_LOG2:0] : {(FIFO_LOG2 + 1){1'b0}})
                         - {{FIFO_LOG2{1'b0}}, pop};
            n_out <= n_out + {3'd0, issue} - {3'd0, r_fire && m_axi_rlast};
            if (r_fire)
                wp <= wp + 1'b1;
            if (pop) begin
                rp <= rp + 1'b1;
                out_left <= out_left - 32'd1;
                if (out_left == 32'd1)
                    done <= 1'b1;
            end
        end
    end
endmodule
