// hw/qmatmul_rtl.v: the RTL qmatmul kernel top as Vitis sees it (ap_ctrl_hs, the HLS port names):
// the s_axi_control register file (qmatmul_ctrl, offsets from include/flare/kernels.h) and the
// t = 1 datapath (qmatmul_t1) on the AXI4 masters m_axi_gmem0 (w), m_axi_gmem2 (x) and
// m_axi_gmem5 (y), the HLS bundles of fl_qmatmul. The bundles the datapath does not use yet
// (gmem1 w_up, gmem3 norm_w, gmem4 r) are ports that stay idle; their arguments read back as
// written.
// ap_start (held by the register file until ap_ready) starts the datapath while it is idle;
// ap_done and ap_ready pulse together when it finishes; ap_idle is the datapath's idle; the
// status register takes the datapath's FL_KST_* code (qmatmul_t1 says which calls it refuses).
`default_nettype none

module qmatmul_rtl #(
    parameter integer DATA_W  = 512,
    parameter integer XB_LOG2 = 9
) (
    input  wire        ap_clk,
    input  wire        ap_rst_n,
    // ---- AXI4-Lite slave s_axi_control ----
    input  wire        s_axi_control_AWVALID,
    output wire        s_axi_control_AWREADY,
    input  wire [6:0]  s_axi_control_AWADDR,
    input  wire        s_axi_control_WVALID,
    output wire        s_axi_control_WREADY,
    input  wire [31:0] s_axi_control_WDATA,
    input  wire [3:0]  s_axi_control_WSTRB,
    output wire        s_axi_control_BVALID,
    input  wire        s_axi_control_BREADY,
    output wire [1:0]  s_axi_control_BRESP,
    input  wire        s_axi_control_ARVALID,
    output wire        s_axi_control_ARREADY,
    input  wire [6:0]  s_axi_control_ARADDR,
    output wire        s_axi_control_RVALID,
    input  wire        s_axi_control_RREADY,
    output wire [31:0] s_axi_control_RDATA,
    output wire [1:0]  s_axi_control_RRESP,
    /* verilator lint_off SYMRSVDWORD */
    output wire        interrupt,
    /* verilator lint_on SYMRSVDWORD */
    // ---- m_axi_gmem0 (read) ----
    output wire              m_axi_gmem0_ARVALID,
    input  wire              m_axi_gmem0_ARREADY,
    output wire [63:0]       m_axi_gmem0_ARADDR,
    output wire [7:0]        m_axi_gmem0_ARLEN,
    output wire [2:0]        m_axi_gmem0_ARSIZE,
    output wire [1:0]        m_axi_gmem0_ARBURST,
    input  wire              m_axi_gmem0_RVALID,
    output wire              m_axi_gmem0_RREADY,
    input  wire [DATA_W-1:0] m_axi_gmem0_RDATA,
    input  wire              m_axi_gmem0_RLAST,
    input  wire [1:0]        m_axi_gmem0_RRESP,
    // ---- m_axi_gmem1 (read) ----
    output wire              m_axi_gmem1_ARVALID,
    input  wire              m_axi_gmem1_ARREADY,
    output wire [63:0]       m_axi_gmem1_ARADDR,
    output wire [7:0]        m_axi_gmem1_ARLEN,
    output wire [2:0]        m_axi_gmem1_ARSIZE,
    output wire [1:0]        m_axi_gmem1_ARBURST,
    input  wire              m_axi_gmem1_RVALID,
    output wire              m_axi_gmem1_RREADY,
    input  wire [DATA_W-1:0] m_axi_gmem1_RDATA,
    input  wire              m_axi_gmem1_RLAST,
    input  wire [1:0]        m_axi_gmem1_RRESP,
    // ---- m_axi_gmem2 (read) ----
    output wire              m_axi_gmem2_ARVALID,
    input  wire              m_axi_gmem2_ARREADY,
    output wire [63:0]       m_axi_gmem2_ARADDR,
    output wire [7:0]        m_axi_gmem2_ARLEN,
    output wire [2:0]        m_axi_gmem2_ARSIZE,
    output wire [1:0]        m_axi_gmem2_ARBURST,
    input  wire              m_axi_gmem2_RVALID,
    output wire              m_axi_gmem2_RREADY,
    input  wire [DATA_W-1:0] m_axi_gmem2_RDATA,
    input  wire              m_axi_gmem2_RLAST,
    input  wire [1:0]        m_axi_gmem2_RRESP,
    // ---- m_axi_gmem3 (read) ----
    output wire              m_axi_gmem3_ARVALID,
    input  wire              m_axi_gmem3_ARREADY,
    output wire [63:0]       m_axi_gmem3_ARADDR,
    output wire [7:0]        m_axi_gmem3_ARLEN,
    output wire [2:0]        m_axi_gmem3_ARSIZE,
    output wire [1:0]        m_axi_gmem3_ARBURST,
    input  wire              m_axi_gmem3_RVALID,
    output wire              m_axi_gmem3_RREADY,
    input  wire [DATA_W-1:0] m_axi_gmem3_RDATA,
    input  wire              m_axi_gmem3_RLAST,
    input  wire [1:0]        m_axi_gmem3_RRESP,
    // ---- m_axi_gmem4 (read) ----
    output wire              m_axi_gmem4_ARVALID,
    input  wire              m_axi_gmem4_ARREADY,
    output wire [63:0]       m_axi_gmem4_ARADDR,
    output wire [7:0]        m_axi_gmem4_ARLEN,
    output wire [2:0]        m_axi_gmem4_ARSIZE,
    output wire [1:0]        m_axi_gmem4_ARBURST,
    input  wire              m_axi_gmem4_RVALID,
    output wire              m_axi_gmem4_RREADY,
    input  wire [DATA_W-1:0] m_axi_gmem4_RDATA,
    input  wire              m_axi_gmem4_RLAST,
    input  wire [1:0]        m_axi_gmem4_RRESP,
    // ---- m_axi_gmem5 (write) ----
    output wire                m_axi_gmem5_AWVALID,
    input  wire                m_axi_gmem5_AWREADY,
    output wire [63:0]         m_axi_gmem5_AWADDR,
    output wire [7:0]          m_axi_gmem5_AWLEN,
    output wire [2:0]          m_axi_gmem5_AWSIZE,
    output wire [1:0]          m_axi_gmem5_AWBURST,
    output wire                m_axi_gmem5_WVALID,
    input  wire                m_axi_gmem5_WREADY,
    output wire [DATA_W-1:0]   m_axi_gmem5_WDATA,
    output wire [DATA_W/8-1:0] m_axi_gmem5_WSTRB,
    output wire                m_axi_gmem5_WLAST,
    input  wire                m_axi_gmem5_BVALID,
    output wire                m_axi_gmem5_BREADY,
    input  wire [1:0]          m_axi_gmem5_BRESP
);
    wire        ap_start, ap_done, ap_idle;
    wire [31:0] status;
    wire [63:0] arg_w, arg_w_up, arg_x, arg_norm_w, arg_r, arg_y;
    wire [31:0] arg_wtype, arg_n, arg_k, arg_t, arg_flags, arg_eps;

    qmatmul_ctrl u_ctrl (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axi_control_AWVALID(s_axi_control_AWVALID), .s_axi_control_AWREADY(s_axi_control_AWREADY),
        .s_axi_control_AWADDR(s_axi_control_AWADDR),
        .s_axi_control_WVALID(s_axi_control_WVALID), .s_axi_control_WREADY(s_axi_control_WREADY),
        .s_axi_control_WDATA(s_axi_control_WDATA), .s_axi_control_WSTRB(s_axi_control_WSTRB),
        .s_axi_control_BVALID(s_axi_control_BVALID), .s_axi_control_BREADY(s_axi_control_BREADY),
        .s_axi_control_BRESP(s_axi_control_BRESP),
        .s_axi_control_ARVALID(s_axi_control_ARVALID), .s_axi_control_ARREADY(s_axi_control_ARREADY),
        .s_axi_control_ARADDR(s_axi_control_ARADDR),
        .s_axi_control_RVALID(s_axi_control_RVALID), .s_axi_control_RREADY(s_axi_control_RREADY),
        .s_axi_control_RDATA(s_axi_control_RDATA), .s_axi_control_RRESP(s_axi_control_RRESP),
        .interrupt(interrupt),
        .ap_start(ap_start), .ap_done(ap_done), .ap_idle(ap_idle), .ap_ready(ap_done),
        .status(status),
        .arg_w(arg_w), .arg_w_up(arg_w_up), .arg_x(arg_x), .arg_norm_w(arg_norm_w), .arg_r(arg_r),
        .arg_y(arg_y), .arg_wtype(arg_wtype), .arg_n(arg_n), .arg_k(arg_k), .arg_t(arg_t),
        .arg_flags(arg_flags), .arg_eps(arg_eps));
    wire unused_args = &{1'b0, arg_w_up, arg_norm_w, arg_r, arg_eps};
    // gmem1 (w_up), gmem3 (norm_w), gmem4 (r): ports of the full kernel, idle until the fused
    // steps use them
    assign m_axi_gmem1_ARVALID = 1'b0;
    assign m_axi_gmem1_ARADDR = 64'd0;
    assign m_axi_gmem1_ARLEN = 8'd0;
    assign m_axi_gmem1_ARSIZE = 3'd0;
    assign m_axi_gmem1_ARBURST = 2'd1;
    assign m_axi_gmem1_RREADY = 1'b1;
    wire unused_gmem1 = &{1'b0, m_axi_gmem1_ARREADY, m_axi_gmem1_RVALID, m_axi_gmem1_RDATA,
                          m_axi_gmem1_RLAST, m_axi_gmem1_RRESP};
    assign m_axi_gmem3_ARVALID = 1'b0;
    assign m_axi_gmem3_ARADDR = 64'd0;
    assign m_axi_gmem3_ARLEN = 8'd0;
    assign m_axi_gmem3_ARSIZE = 3'd0;
    assign m_axi_gmem3_ARBURST = 2'd1;
    assign m_axi_gmem3_RREADY = 1'b1;
    wire unused_gmem3 = &{1'b0, m_axi_gmem3_ARREADY, m_axi_gmem3_RVALID, m_axi_gmem3_RDATA,
                          m_axi_gmem3_RLAST, m_axi_gmem3_RRESP};
    assign m_axi_gmem4_ARVALID = 1'b0;
    assign m_axi_gmem4_ARADDR = 64'd0;
    assign m_axi_gmem4_ARLEN = 8'd0;
    assign m_axi_gmem4_ARSIZE = 3'd0;
    assign m_axi_gmem4_ARBURST = 2'd1;
    assign m_axi_gmem4_RREADY = 1'b1;
    wire unused_gmem4 = &{1'b0, m_axi_gmem4_ARREADY, m_axi_gmem4_RVALID, m_axi_gmem4_RDATA,
                          m_axi_gmem4_RLAST, m_axi_gmem4_RRESP};

    // the cycle done pulses the datapath is idle again while ap_start is still set: no restart
    qmatmul_t1 #(.DATA_W(DATA_W), .XB_LOG2(XB_LOG2)) u_dp (
        .clk(ap_clk), .rst(!ap_rst_n), .start(ap_start && !ap_done), .arg_w(arg_w), .arg_x(arg_x),
        .arg_y(arg_y), .arg_wtype(arg_wtype), .arg_n(arg_n), .arg_k(arg_k), .arg_t(arg_t),
        .arg_flags(arg_flags), .idle(ap_idle), .done(ap_done), .status(status),
        .w_arvalid(m_axi_gmem0_ARVALID),
        .w_arready(m_axi_gmem0_ARREADY),
        .w_araddr(m_axi_gmem0_ARADDR),
        .w_arlen(m_axi_gmem0_ARLEN),
        .w_arsize(m_axi_gmem0_ARSIZE),
        .w_arburst(m_axi_gmem0_ARBURST),
        .w_rvalid(m_axi_gmem0_RVALID),
        .w_rready(m_axi_gmem0_RREADY),
        .w_rdata(m_axi_gmem0_RDATA),
        .w_rlast(m_axi_gmem0_RLAST),
        .w_rresp(m_axi_gmem0_RRESP),
        .x_arvalid(m_axi_gmem2_ARVALID),
        .x_arready(m_axi_gmem2_ARREADY),
        .x_araddr(m_axi_gmem2_ARADDR),
        .x_arlen(m_axi_gmem2_ARLEN),
        .x_arsize(m_axi_gmem2_ARSIZE),
        .x_arburst(m_axi_gmem2_ARBURST),
        .x_rvalid(m_axi_gmem2_RVALID),
        .x_rready(m_axi_gmem2_RREADY),
        .x_rdata(m_axi_gmem2_RDATA),
        .x_rlast(m_axi_gmem2_RLAST),
        .x_rresp(m_axi_gmem2_RRESP),
        .y_awvalid(m_axi_gmem5_AWVALID),
        .y_awready(m_axi_gmem5_AWREADY),
        .y_awaddr(m_axi_gmem5_AWADDR),
        .y_awlen(m_axi_gmem5_AWLEN),
        .y_awsize(m_axi_gmem5_AWSIZE),
        .y_awburst(m_axi_gmem5_AWBURST),
        .y_wvalid(m_axi_gmem5_WVALID),
        .y_wready(m_axi_gmem5_WREADY),
        .y_wdata(m_axi_gmem5_WDATA),
        .y_wstrb(m_axi_gmem5_WSTRB),
        .y_wlast(m_axi_gmem5_WLAST),
        .y_bvalid(m_axi_gmem5_BVALID),
        .y_bready(m_axi_gmem5_BREADY),
        .y_bresp(m_axi_gmem5_BRESP));
endmodule
