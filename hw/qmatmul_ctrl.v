// hw/qmatmul_ctrl.v: the qmatmul kernel's s_axi_control register file: axil_ctrl with the
// offsets of hw/generated/qmatmul_regs.vh (generated from include/flare/kernels.h), and the
// argument words split into one named port per argument of FL_QMATMUL_ARGS (64-bit device
// addresses: low word at the argument's offset, high word at +4; eps as its IEEE bits).
// The qmatmul top instantiates this; the datapath drives ap_done/ap_idle/ap_ready and status
// and takes ap_start and the ap_continue pulse (ap_ctrl_chain, hw/axil_ctrl.v).
`default_nettype none

module qmatmul_ctrl (
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
    // ---- kernel side ----
    output wire        ap_start,
    input  wire        ap_done,
    input  wire        ap_idle,
    input  wire        ap_ready,
    output wire        ap_continue,  // pulse: the host wrote 1 to bit 4 of the control word
    input  wire [31:0] status,
    output wire [63:0] arg_w,       // (n, k/32) weight blocks (gate rows with SWIGLU)
    output wire [63:0] arg_w_up,    // (n, k/32) up-matrix blocks (SWIGLU only)
    output wire [63:0] arg_x,       // (t, k) fp32 input rows
    output wire [63:0] arg_norm_w,  // (k,) fp32 RMSNorm weight (NORM only)
    output wire [63:0] arg_r,       // (t, n) fp32 residual (RESID only)
    output wire [63:0] arg_y,       // (t, n) fp32 output
    output wire [31:0] arg_wtype,   // FL_TYPE_Q4_0 / Q5_0 / Q8_0
    output wire [31:0] arg_n,
    output wire [31:0] arg_k,
    output wire [31:0] arg_t,
    output wire [31:0] arg_flags,   // FL_QMM_NORM | FL_QMM_RESID | FL_QMM_SWIGLU
    output wire [31:0] arg_eps      // fp32 bits
);
`include "qmatmul_regs.vh"

    wire [32*FL_QMM_ARG_WORDS-1:0] args;

    axil_ctrl #(
        .ADDR_BITS(FL_QMM_ADDR_BITS),
        .ARG_WORDS(FL_QMM_ARG_WORDS),
        .STATUS_OFF(FL_QMM_REG_STATUS)
    ) u_ctrl (
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
        .ap_start(ap_start), .ap_done(ap_done), .ap_idle(ap_idle), .ap_ready(ap_ready),
        .ap_continue(ap_continue), .args(args), .status(status)
    );

    // ---- named arguments: bit offset of an argument = 8 * (offset - 0x10) ----
    localparam integer B_W = 8 * (FL_QMM_ARG_W - FL_REG_ARGS);
    localparam integer B_W_UP = 8 * (FL_QMM_ARG_W_UP - FL_REG_ARGS);
    localparam integer B_X = 8 * (FL_QMM_ARG_X - FL_REG_ARGS);
    localparam integer B_NORM_W = 8 * (FL_QMM_ARG_NORM_W - FL_REG_ARGS);
    localparam integer B_R = 8 * (FL_QMM_ARG_R - FL_REG_ARGS);
    localparam integer B_Y = 8 * (FL_QMM_ARG_Y - FL_REG_ARGS);
    localparam integer B_WTYPE = 8 * (FL_QMM_ARG_WTYPE - FL_REG_ARGS);
    localparam integer B_N = 8 * (FL_QMM_ARG_N - FL_REG_ARGS);
    localparam integer B_K = 8 * (FL_QMM_ARG_K - FL_REG_ARGS);
    localparam integer B_T = 8 * (FL_QMM_ARG_T - FL_REG_ARGS);
    localparam integer B_FLAGS = 8 * (FL_QMM_ARG_FLAGS - FL_REG_ARGS);
    localparam integer B_EPS = 8 * (FL_QMM_ARG_EPS - FL_REG_ARGS);

    assign arg_w = args[B_W +: 64];
    assign arg_w_up = args[B_W_UP +: 64];
    assign arg_x = args[B_X +: 64];
    assign arg_norm_w = args[B_NORM_W +: 64];
    assign arg_r = args[B_R +: 64];
    assign arg_y = args[B_Y +: 64];
    assign arg_wtype = args[B_WTYPE +: 32];
    assign arg_n = args[B_N +: 32];
    assign arg_k = args[B_K +: 32];
    assign arg_t = args[B_T +: 32];
    assign arg_flags = args[B_FLAGS +: 32];
    assign arg_eps = args[B_EPS +: 32];
endmodule

`default_nettype wire
