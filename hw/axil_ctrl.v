// hw/axil_ctrl.v: the AXI4-Lite `s_axi_control` slave of a flare kernel, ap_ctrl_chain layout
// (XRT's pipelined kernel; ap_ctrl_hs plus ap_continue).
//
// Register map (include/flare/kernels.h; offsets generated into hw/generated/qmatmul_regs.vh):
//   0x00 control  bit0 ap_start (write 1 to start; stays set until the kernel's ap_ready, which
//                 the kernel gives when it has a free call slot),
//                 bit1 ap_done (latched, clear on read), bit2 ap_idle (the kernel's pin),
//                 bit3 ap_ready (latched, clear on read), bit4 ap_continue (write 1: a
//                 one-cycle `ap_continue` pulse to the kernel, which acknowledges the completed
//                 call; reads 0). The hold itself (no next completion before ap_continue) is the
//                 kernel's (hw/qmatmul_core.v).
//   0x04 GIE      bit0 global interrupt enable
//   0x08 IER      bit0 ap_done, bit1 ap_ready interrupt enable
//   0x0C ISR      bit0 ap_done, bit1 ap_ready: set by the event when enabled in IER, a written 1
//                 toggles the bit
//   0x10 ...      ARG_WORDS read/write argument words (byte strobes honoured), flat on `args`
//                 (word i at bits 32i+31..32i, address 0x10 + 4i)
//   STATUS_OFF    read-only word driven by the kernel (`status`)
// Other addresses read 0 and ignore writes; responses are always OKAY. One outstanding write
// and one outstanding read; AW and W may arrive in either order or together.
// interrupt = GIE & (ISR != 0). Reset: ap_rst_n, active low, synchronous.
`default_nettype none

module axil_ctrl #(
    parameter integer ADDR_BITS = 7,
    parameter integer ARG_WORDS = 18,
    parameter integer STATUS_OFF = 'h58  // byte offset of the read-only status word
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    // ---- AXI4-Lite slave ----
    input  wire                   s_axi_control_AWVALID,
    output wire                   s_axi_control_AWREADY,
    input  wire [ADDR_BITS-1:0]   s_axi_control_AWADDR,
    input  wire                   s_axi_control_WVALID,
    output wire                   s_axi_control_WREADY,
    input  wire [31:0]            s_axi_control_WDATA,
    input  wire [3:0]             s_axi_control_WSTRB,
    output wire                   s_axi_control_BVALID,
    input  wire                   s_axi_control_BREADY,
    output wire [1:0]             s_axi_control_BRESP,
    input  wire                   s_axi_control_ARVALID,
    output wire                   s_axi_control_ARREADY,
    input  wire [ADDR_BITS-1:0]   s_axi_control_ARADDR,
    output wire                   s_axi_control_RVALID,
    input  wire                   s_axi_control_RREADY,
    output wire [31:0]            s_axi_control_RDATA,
    output wire [1:0]             s_axi_control_RRESP,
    /* verilator lint_off SYMRSVDWORD */
    output wire                   interrupt,  // the Vitis RTL-kernel name
    /* verilator lint_on SYMRSVDWORD */
    // ---- kernel side (ap_ctrl_chain) ----
    output wire                   ap_start,
    input  wire                   ap_done,
    input  wire                   ap_idle,
    input  wire                   ap_ready,
    output reg                    ap_continue,
    output wire [32*ARG_WORDS-1:0] args,
    input  wire [31:0]            status
);
    localparam [ADDR_BITS-1:0] A_CTRL = 'h00, A_GIE = 'h04, A_IER = 'h08, A_ISR = 'h0C;
    localparam integer ARG_BASE = 'h10;
    localparam [ADDR_BITS-1:0] A_STATUS = STATUS_OFF[ADDR_BITS-1:0];

    // ---- write channel: latch AW and W independently, write when both are held ----
    reg                 aw_full, w_full, bvalid;
    reg [ADDR_BITS-1:0] aw_addr;
    reg [31:0]          w_data;
    reg [3:0]           w_strb;
    wire                aw_hs = s_axi_control_AWVALID && !aw_full;
    wire                w_hs = s_axi_control_WVALID && !w_full;
    wire                do_write = aw_full && w_full && !bvalid;
    wire [31:0]         wmask = {{8{w_strb[3]}}, {8{w_strb[2]}}, {8{w_strb[1]}}, {8{w_strb[0]}}};

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            aw_full <= 1'b0;
            w_full <= 1'b0;
            bvalid <= 1'b0;
            aw_addr <= {ADDR_BITS{1'b0}};
            w_data <= 32'd0;
            w_strb <= 4'd0;
        end else begin
            if (aw_hs) begin
                aw_full <= 1'b1;
                aw_addr <= s_axi_control_AWADDR;
            end
            if (w_hs) begin
                w_full <= 1'b1;
                w_data <= s_axi_control_WDATA;
                w_strb <= s_axi_control_WSTRB;
            end
            if (do_write) begin
                aw_full <= 1'b0;
                w_full <= 1'b0;
                bvalid <= 1'b1;
            end else if (bvalid && s_axi_control_BREADY) begin
                bvalid <= 1'b0;
            end
        end
    end

    assign s_axi_control_AWREADY = !aw_full;
    assign s_axi_control_WREADY = !w_full;
    assign s_axi_control_BVALID = bvalid;
    assign s_axi_control_BRESP = 2'b00;

    // ---- read channel: one read in flight, data registered at the AR handshake ----
    reg        rvalid;
    reg [31:0] rdata;
    wire       ar_hs = s_axi_control_ARVALID && !rvalid;

    // ---- control and interrupt registers ----
    reg       int_start, int_done, int_ready, int_gie;
    reg [1:0] int_ier, int_isr;
    wire      rd_ctrl = ar_hs && (s_axi_control_ARADDR == A_CTRL);
    wire      wr_ctrl = do_write && (aw_addr == A_CTRL) && w_strb[0];
    wire      wr_gie = do_write && (aw_addr == A_GIE) && w_strb[0];
    wire      wr_ier = do_write && (aw_addr == A_IER) && w_strb[0];
    wire      wr_isr = do_write && (aw_addr == A_ISR) && w_strb[0];

    initial ap_continue = 1'b0;
    always @(posedge ap_clk) begin
        ap_continue <= ap_rst_n && wr_ctrl && w_data[4];
        if (!ap_rst_n) begin
            int_start <= 1'b0;
            int_done <= 1'b0;
            int_ready <= 1'b0;
            int_gie <= 1'b0;
            int_ier <= 2'b00;
            int_isr <= 2'b00;
        end else begin
            // ap_start: set by software, held until the kernel takes the inputs (ap_ready)
            if (wr_ctrl && w_data[0])
                int_start <= 1'b1;
            else if (ap_ready)
                int_start <= 1'b0;
            // ap_done / ap_ready: latched, cleared by a read of the control word (an event in the
            // same cycle wins, so none is lost)
            if (ap_done)
                int_done <= 1'b1;
            else if (rd_ctrl)
                int_done <= 1'b0;
            if (ap_ready)
                int_ready <= 1'b1;
            else if (rd_ctrl)
                int_ready <= 1'b0;
            if (wr_gie)
                int_gie <= w_data[0];
            if (wr_ier)
                int_ier <= w_data[1:0];
            // ISR: event sets (when enabled), a written 1 toggles
            if (int_ier[0] && ap_done)
                int_isr[0] <= 1'b1;
            else if (wr_isr)
                int_isr[0] <= int_isr[0] ^ w_data[0];
            if (int_ier[1] && ap_ready)
                int_isr[1] <= 1'b1;
            else if (wr_isr)
                int_isr[1] <= int_isr[1] ^ w_data[1];
        end
    end

    assign ap_start = int_start;
    assign interrupt = int_gie && (int_isr != 2'b00);

    // ---- argument words: word i at bits 32i +: 32 ----
    reg [32*ARG_WORDS-1:0] arg_q;
    genvar gi;
    generate
        for (gi = 0; gi < ARG_WORDS; gi = gi + 1) begin : g_arg
            localparam integer AI = ARG_BASE + 4 * gi;
            always @(posedge ap_clk) begin
                if (!ap_rst_n)
                    arg_q[32*gi +: 32] <= 32'd0;
                else if (do_write && aw_addr == AI[ADDR_BITS-1:0])
                    arg_q[32*gi +: 32] <= (arg_q[32*gi +: 32] & ~wmask) | (w_data & wmask);
            end
        end
    endgenerate
    assign args = arg_q;

    // ---- read mux ----
    reg [31:0] rmux;
    integer ri;
    always @(*) begin
        rmux = 32'd0;
        case (s_axi_control_ARADDR)
            A_CTRL: rmux = {28'd0, int_ready, ap_idle, int_done, int_start};
            A_GIE: rmux = {31'd0, int_gie};
            A_IER: rmux = {30'd0, int_ier};
            A_ISR: rmux = {30'd0, int_isr};
            A_STATUS: rmux = status;
            default: begin
                for (ri = 0; ri < ARG_WORDS; ri = ri + 1)
                    if (s_axi_control_ARADDR == ARG_BASE[ADDR_BITS-1:0] + 4 * ri[ADDR_BITS-1:0])
                        rmux = arg_q[32*ri +: 32];
            end
        endcase
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            rvalid <= 1'b0;
            rdata <= 32'd0;
        end else if (ar_hs) begin
            rvalid <= 1'b1;
            rdata <= rmux;
        end else if (rvalid && s_axi_control_RREADY) begin
            rvalid <= 1'b0;
        end
    end

    assign s_axi_control_ARREADY = !rvalid;
    assign s_axi_control_RVALID = rvalid;
    assign s_axi_control_RDATA = rdata;
    assign s_axi_control_RRESP = 2'b00;
endmodule

`default_nettype wire
