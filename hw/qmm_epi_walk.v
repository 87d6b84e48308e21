// hw/qmm_epi_walk.v: the beat walker of qmm_epi: it enumerates the AXI beats (and bursts) of a
// (t, n) fp32 array in device memory (y or r), block by block of B = 2^BLK_LOG2 rows:
//   for blk in 0 .. ceil(n / B) - 1, for tt in 0 .. t - 1: the segment of c = min(B, n - blk*B)
//   words at base + 4 * (tt * n + blk * B), as the beats that cover it (the first beat starts
//   s = (segment word address) % words-per-beat lanes early), split into INCR bursts at 4 KB.
// qmm_epi runs three of these in lock-step with the data: the y writer (one beat per step), the
// r address issuer (one burst per step) and the r data side (one beat per step). For each beat
// it also gives where the segment's words live in the on-chip ring buffers of qmm_epi: WPB
// banks (bank = row % WPB), the block's slot (blk % nslots, t * B / WPB bank words each), the
// token's B / WPB words in it; `sbase` is the first bank address of (slot, tt).
`default_nettype none

module qmm_epi_walk #(
    parameter integer DATA_W   = 512,
    parameter integer T_LOG2   = 6,
    parameter integer BLK_LOG2 = 5,   // rows per block; 2^BLK_LOG2 > DATA_W / 32
    parameter integer CAP_LOG2 = 12   // ring words; >= BLK_LOG2 + T_LOG2 + 1
) (
    input  wire                clk,
    input  wire                rst,        // synchronous, active high
    input  wire                init,       // restart at the first beat of the array
    /* verilator lint_off UNUSED */
    input  wire [63:0]         base,       // byte address, 4-byte aligned (bits 1:0 unused)
    /* verilator lint_on UNUSED */
    input  wire [31:0]         n,          // >= 1
    input  wire [T_LOG2:0]     t,          // 1 .. 2^T_LOG2
    input  wire [CAP_LOG2-BLK_LOG2-1:0] slot_mask,  // nslots - 1 (nslots a power of two)
    input  wire                step,       // advance (ignored when fin)
    input  wire                by_burst,   // 1: to the next burst's first beat; 0: one beat
    output wire                fin,        // every block walked
    output reg  [31:0]         blk,        // the current block (= blocks walked)
    output wire [63:0]         addr,       // byte address of the current beat
    output wire [8:0]          len,        // beats from this one to the end of its burst
    output wire                first,      // the first beat of a burst
    output wire                blk_last,   // a step now leaves the block
    output wire [$clog2(DATA_W/32)-1:0] s,  // lane of the segment's first word
    output reg  [BLK_LOG2:0]   i,          // beat within the segment
    output wire [BLK_LOG2:0]   c,          // words in the segment
    output wire [CAP_LOG2-$clog2(DATA_W/32)-1:0] sbase  // bank address of (slot, tt), row 0
);
    localparam integer WPB     = DATA_W / 32;
    localparam integer LOG_WPB = (WPB == 2) ? 1 : (WPB == 4) ? 2 : (WPB == 8) ? 3 : 4;
    localparam integer LOG_BB  = LOG_WPB + 2;
    localparam integer SW      = CAP_LOG2 - BLK_LOG2;  // slot * t + tt < 2^SW

    reg [31:0]       nblk;
    reg [31:0]       a_n;
    reg [T_LOG2:0]   a_t;
    reg [SW-1:0]     a_mask;
    reg [T_LOG2-1:0] tt;
    reg [61:0]       seg_w;      // word address of the segment
    reg [61:0]       blk_w;      // word address of the block's row 0, token 0
    reg [31:0]       rows_left;  // n - blk * B
    reg [SW-1:0]     slot, slot_base;  // slot, slot * t

    localparam [31:0] B = 32'd1 << BLK_LOG2;
    assign fin = (blk == nblk);
    assign c = (rows_left < B) ? rows_left[BLK_LOG2:0] : B[BLK_LOG2:0];
    assign s = seg_w[LOG_WPB-1:0];
    wire [BLK_LOG2+1:0] span = {{(BLK_LOG2 + 2 - LOG_WPB){1'b0}}, s} + {1'b0, c} +
                               (WPB[BLK_LOG2+1:0] - 1'b1);
    /* verilator lint_off UNUSED */
    wire [BLK_LOG2+1:0] nb2 = span >> LOG_WPB;
    /* verilator lint_on UNUSED */
    wire [BLK_LOG2:0] nb = nb2[BLK_LOG2:0];      // beats of the segment
    wire [BLK_LOG2:0] left = nb - i;             // >= 1
    wire [61-LOG_WPB:0] beat_no = seg_w[61:LOG_WPB] + {{(61 - LOG_WPB - BLK_LOG2){1'b0}}, i};
    assign addr = {beat_no, {LOG_BB{1'b0}}};
    wire [12:0] to_4k_b = 13'd4096 - {1'b0, addr[11:0]};
    /* verilator lint_off UNUSED */
    wire [12:0] to_4k = to_4k_b >> LOG_BB;      // 1 .. 4096 / beat bytes
    /* verilator lint_on UNUSED */
    wire [9:0] left10 = {{(9 - BLK_LOG2){1'b0}}, left};
    /* verilator lint_off UNUSED */
    wire [9:0] len10  = (left10 < to_4k[9:0]) ? left10 : to_4k[9:0];  // <= 2^BLK_LOG2 + 1
    /* verilator lint_on UNUSED */
    assign len = len10[8:0];
    assign first = (i == 0) || (addr[11:0] == 12'd0);
    wire [BLK_LOG2:0] k = by_burst ? len10[BLK_LOG2:0] : {{BLK_LOG2{1'b0}}, 1'b1};
    wire seg_end = (k == left);
    wire tt_last = ({1'b0, tt} == a_t - 1'b1);
    assign blk_last = seg_end && tt_last;
    /* verilator lint_off UNUSED */
    wire [31:0] t32 = {{(31 - T_LOG2){1'b0}}, a_t};
    /* verilator lint_on UNUSED */
    wire [SW-1:0] st = slot_base + {{(SW - T_LOG2){1'b0}}, tt};
    assign sbase = {st, {(BLK_LOG2 - LOG_WPB){1'b0}}};

    always @(posedge clk) begin
        if (rst) begin
            nblk <= 32'd0;
            blk <= 32'd0;
        end else if (init) begin
            nblk <= (n >> BLK_LOG2) + {31'd0, |n[BLK_LOG2-1:0]};
            blk <= 32'd0;
            a_n <= n;
            a_t <= t;
            a_mask <= slot_mask;
            tt <= {T_LOG2{1'b0}};
            i <= {(BLK_LOG2 + 1){1'b0}};
            seg_w <= base[63:2];
            blk_w <= base[63:2];
            rows_left <= n;
            slot <= {SW{1'b0}};
            slot_base <= {SW{1'b0}};
        end else if (step && !fin) begin
            if (!seg_end) begin
                i <= i + k;
            end else begin
                i <= {(BLK_LOG2 + 1){1'b0}};
                if (!tt_last) begin
                    tt <= tt + 1'b1;
                    seg_w <= seg_w + {30'd0, a_n};
                end else begin
                    tt <= {T_LOG2{1'b0}};
                    blk <= blk + 32'd1;
                    seg_w <= blk_w + {30'd0, B};
                    blk_w <= blk_w + {30'd0, B};
                    rows_left <= (rows_left > B) ? rows_left - B : 32'd0;
                    if (slot == a_mask) begin
                        slot <= {SW{1'b0}};
                        slot_base <= {SW{1'b0}};
                    end else begin
                        slot <= slot + 1'b1;
                        slot_base <= slot_base + t32[SW-1:0];
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
