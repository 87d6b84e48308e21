// hw/qmm_q8pool.v: blocks of 32 fp32 values -> Q8_0, up to one block per cycle in and out,
// bit-exact with fl_q8_quant(x, 32, q) in hls/numerics.h (docs/numerics.md, qmatmul step 2):
//   amax = max |x_i| (NaN ignored), d = amax / 127, id = amax != 0 ? 127 / amax : 0 (IEEE
//   divisions), q_i = fl_rne_clamp127(x_i * id), scale = fp16(d).
// The two divisions per block are what takes long (fp32_div: sequential, 28 cycles a
// division), so they run on N_SLOT pairs of dividers in turn (a ring of slots; the block
// waits in its slot); the 32 multiplies and roundings of a block are one pipelined stage
// (32 fp32_mul, MUL_LAT cycles) shared by all slots. A block needs about 30 cycles of its
// slot: N_SLOT = 16 takes a block every 2 cycles (16 fp32 words a cycle, a 512-bit beat).
//
// Flow: a source first reserves a slot (`reserve`, allowed while `can_reserve`), then gives
// the block (`in_valid`, with a tag) in that cycle or any later one; reservations are used in
// order. Blocks come out in the order they went in, `out_valid` for one cycle, LAT_OUT =
// 1 (amax) + 28 (divisions) + MUL_LAT + 1 cycles after in_valid. No backpressure out; out_tag,
// out_q and out_d hold between blocks.
// Work is done under the valid bits (amax in the in_valid cycle, the roundings and fp16 in the
// output register stage, the fp units' own stages): a simulator skips it when idle.
`default_nettype none

module qmm_q8pool #(
    parameter integer N_SLOT  = 16,  // divider pairs, 2..64
    parameter integer TAG_W   = 16,
    parameter integer MUL_LAT = 2   // 0 .. 15
) (
    input  wire             clk,
    input  wire             rst,          // synchronous, active high: drops every block
    input  wire             reserve,
    output wire             can_reserve,
    input  wire             in_valid,
    input  wire [1023:0]    in_x,         // (32,) fp32, element i at bits 32i +: 32
    input  wire [TAG_W-1:0] in_tag,
    output wire             idle,         // no block reserved or inside
    output reg              out_valid,
    output reg  [TAG_W-1:0] out_tag,
    output reg  [255:0]     out_q,        // (32,) int8, element i at bits 8i +: 8
    output wire [15:0]      out_d         // fp16 scale
);
    localparam [31:0] F127 = 32'h42fe_0000;  // 127.0f
    localparam integer SB = (N_SLOT <= 2) ? 1 : (N_SLOT <= 4) ? 2 : (N_SLOT <= 8) ? 3 :
                            (N_SLOT <= 16) ? 4 : (N_SLOT <= 32) ? 5 : 6;

    // ---- amax of the incoming block: |x| bits compare as unsigned, a NaN counts as 0 (it
    // never compares greater in the C); a 5-level tree of 31-bit maxima. Evaluated in the
    // in_valid cycle only (called from the clocked block). ----
    function automatic [31:0] amax32(input [1023:0] bx);
        reg [31*63-1:0] mt;  // node n at bits 31n: 0 the root, 2n+1 / 2n+2 its children; 31..62 leaves
        integer ai;
        begin
            for (ai = 0; ai < 32; ai = ai + 1)
                mt[31*(31+ai) +: 31] = (bx[32*ai +: 31] <= 31'h7f80_0000) ? bx[32*ai +: 31] : 31'd0;
            for (ai = 30; ai >= 0; ai = ai - 1)
                mt[31*ai +: 31] = (mt[31*(2*ai+1) +: 31] >= mt[31*(2*ai+2) +: 31]) ?
                                 mt[31*(2*ai+1) +: 31] : mt[31*(2*ai+2) +: 31];
            amax32 = {1'b0, mt[30:0]};
        end
    endfunction
`include "q8_rne_clamp.vh"

    // ---- the slot ring: blocks wait for their divisions in slots wp .. rp (in order) ----
    reg  [1023:0]    xs   [0:N_SLOT-1];  // the blocks
    reg  [TAG_W-1:0] tags [0:N_SLOT-1];
    reg  [31:0]      amax [0:N_SLOT-1];
    reg  [SB-1:0]    wp, rp;             // next slot to fill, next slot to finish
    reg  [SB:0]      n_used;             // slots reserved or holding a block
    reg  [N_SLOT-1:0] go;                // start the slot's dividers (the cycle after in_valid)
    integer          i;
    initial begin
        wp = {SB{1'b0}};
        rp = {SB{1'b0}};
        n_used = {(SB + 1){1'b0}};
        go = {N_SLOT{1'b0}};
        out_valid = 1'b0;
    end
    assign can_reserve = (n_used < N_SLOT[SB:0]);

    wire [N_SLOT-1:0]    d_done, r_done, d_busy, r_busy;
    wire [32*N_SLOT-1:0] d_y, r_y;
    genvar gs;
    generate
        for (gs = 0; gs < N_SLOT; gs = gs + 1) begin : g_slot
            fp32_div u_d (.clk(clk), .rst(rst), .start(go[gs]), .a(amax[gs]), .b(F127),
                          .busy(d_busy[gs]), .done(d_done[gs]), .y(d_y[32*gs +: 32]));
            fp32_div u_r (.clk(clk), .rst(rst), .start(go[gs]), .a(F127), .b(amax[gs]),
                          .busy(r_busy[gs]), .done(r_done[gs]), .y(r_y[32*gs +: 32]));
        end
    endgenerate
    // the slots finish in the order they started, one per cycle at most: slot rp
    wire        fin = d_done[rp];
    wire [31:0] fin_d = d_y[32*rp +: 32];
    wire [31:0] fin_id = (amax[rp] == 32'd0) ? 32'd0 : r_y[32*rp +: 32];
    wire [1023:0] fin_x = xs[rp];
    wire unused_div = &{1'b0, d_busy, r_busy, r_done};

    // ---- the shared multiply stage: q_i = rne_clamp(x_i * id), d = fp16(amax / 127) ----
    wire [1023:0] prod;
    wire [31:0]   mv;
    genvar gm;
    generate
        for (gm = 0; gm < 32; gm = gm + 1) begin : g_mul
            fp32_mul #(.LATENCY(MUL_LAT)) u_mul (
                .clk(clk), .in_valid(fin), .a(fin_x[32*gm +: 32]), .b(fin_id),
                .out_valid(mv[gm]), .y(prod[32*gm +: 32]));
        end
    endgenerate
    // the scale d = amax / 127 rides along; fp16(d) and the roundings are done in the output
    // register stage (fp32_to_fp16 below, q8_rne_f), for taken blocks only
    wire             p_v;
    wire [TAG_W+31:0] p_side;
    fp_pipe #(.W(TAG_W + 32), .LATENCY(MUL_LAT)) u_side (
        .clk(clk), .in_valid(fin), .in_data({tags[rp], fin_d}), .out_valid(p_v),
        .out_data(p_side));
    wire unused_mv = &{1'b0, mv};
    // blocks in the multiply stage: after a reset, what its pipeline still holds is dropped
    reg [4:0] n_mul;
    initial n_mul = 5'd0;
    wire      p_take = p_v && n_mul != 5'd0;
    wire      unused_h;
    fp32_to_fp16 #(.LATENCY(1)) u_h (.clk(clk), .in_valid(p_take), .f(p_side[31:0]),
                                     .out_valid(unused_h), .h(out_d));
    assign idle = (n_used == {(SB + 1){1'b0}}) && !out_valid && n_mul == 5'd0;

    always @(posedge clk) begin
        go <= {N_SLOT{1'b0}};
        out_valid <= p_take;
        if (p_take) begin
            out_tag <= p_side[TAG_W+31:32];
            for (i = 0; i < 32; i = i + 1)
                out_q[8*i +: 8] <= q8_rne_f(prod[32*i +: 32]);
        end
        if (in_valid) begin
            xs[wp] <= in_x;
            tags[wp] <= in_tag;
            amax[wp] <= amax32(in_x);
        end
        if (rst) begin
            wp <= {SB{1'b0}};
            rp <= {SB{1'b0}};
            n_used <= {(SB + 1){1'b0}};
            out_valid <= 1'b0;
            n_mul <= 5'd0;
        end else begin
            n_mul <= n_mul + {4'd0, fin} - {4'd0, p_take};
            if (in_valid) begin
                go[wp] <= 1'b1;
                wp <= (wp == N_SLOT[SB-1:0] - 1'b1) ? {SB{1'b0}} : wp + 1'b1;
            end
            if (fin)
                rp <= (rp == N_SLOT[SB-1:0] - 1'b1) ? {SB{1'b0}} : rp + 1'b1;
            n_used <= n_used + {{SB{1'b0}}, reserve} - {{SB{1'b0}}, fin};
        end
    end
endmodule

`default_nettype wire
