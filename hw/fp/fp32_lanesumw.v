// hw/fp/fp32_lanesumw.v: the 8-lane fp32 sum of docs/numerics.md taking WAYS (2 or 4) terms
// per cycle.
//
// A row's terms arrive in groups (in_valid): group g holds terms WAYS*g .. WAYS*g + in_n - 1
// of the row, term w of the group at terms[32w +: 32]; in_n = WAYS except in the row's last
// group (`last`), which may hold 1..WAYS. Term i goes to lane i % 8, each lane starting at
// +0.0f, then fp32_tree8 gives ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): bit-exact
// with fl_lanes_* in hls/numerics.h, as fp32_lanesum is with one term per cycle. One fp32_add
// per way (way w owns lanes w, w + WAYS, ...): group g + 8/WAYS reads the lanes of group g no
// earlier than 8/WAYS cycles later, with the adders' results forwarded in the cycle they are
// written back, so ADD_LAT <= 8 / WAYS never stalls. The next row may start the cycle after
// `last`. Latency from `last` to `sum`: ADD_LAT (lanes) + 1 (capture) + 3 * ADD_LAT (tree).
`default_nettype none

module fp32_lanesumw #(
    parameter integer WAYS    = 2,  // 2 or 4
    parameter integer ADD_LAT = 2   // 1 .. 8 / WAYS
) (
    input  wire               clk,
    input  wire               rst,       // synchronous, active high: empties the current row
    input  wire               in_valid,
    input  wire [2:0]         in_n,      // terms in the group, 1..WAYS
    input  wire               last,      // with in_valid: this group ends the row
    input  wire [32*WAYS-1:0] terms,
    output wire               out_valid,
    output wire [31:0]        sum
);
    localparam integer SB = (WAYS == 2) ? 2 : 1;  // bits of the group slot (8 / WAYS slots)
    localparam integer TW = 1 + 3 + 8 + SB;       // tag: last, n, used lanes, slot

    // ---- lane state ----
    reg [31:0]   lane [0:7];
    reg [7:0]    fresh;  // lane not yet added to in the current row (reads as +0.0f)
    reg [SB-1:0] idx;    // slot of the next group: lanes WAYS*idx .. WAYS*idx + WAYS - 1
    initial begin
        fresh = 8'hff;
        idx = {SB{1'b0}};
    end

    // ---- the adders; the tag travels alongside ----
    wire [32*WAYS-1:0] y;
    wire [WAYS-1:0]    v;
    wire [TW-1:0]      tag_out;
    wire               tag_v;
    wire               wb_last = tag_out[TW-1];
    wire [2:0]         wb_n    = tag_out[TW-2 -: 3];
    wire [7:0]         wb_used = tag_out[SB+7 -: 8];
    wire [SB-1:0]      wb_idx  = tag_out[SB-1:0];

    reg [7:0]          in_mask;  // lanes of this group's valid terms
    reg [32*WAYS-1:0]  acc;
    integer w;
    always @(*) begin
        in_mask = 8'd0;
        for (w = 0; w < WAYS; w = w + 1) begin
            if (in_n > w[2:0])
                in_mask = in_mask | (8'd1 << (idx * WAYS[2:0] + w[2:0]));
            acc[32*w +: 32] = fresh[idx * WAYS[2:0] + w[2:0]] ? 32'd0
                            : (v[w] && wb_idx == idx) ? y[32*w +: 32]
                            : lane[idx * WAYS[2:0] + w[2:0]];
        end
    end

    genvar g;
    generate
        for (g = 0; g < WAYS; g = g + 1) begin : g_add
            fp32_add #(.LATENCY(ADD_LAT)) u_add (
                .clk(clk), .in_valid(in_valid && in_n > g), .a(acc[32*g +: 32]),
                .b(terms[32*g +: 32]), .out_valid(v[g]), .y(y[32*g +: 32]));
        end
    endgenerate
    fp_pipe #(.W(TW), .LATENCY(ADD_LAT)) u_tag (
        .clk(clk), .in_valid(in_valid), .in_data({last, in_n, ~fresh | in_mask, idx}),
        .out_valid(tag_v), .out_data(tag_out));

    integer j;
    always @(posedge clk) begin
        for (j = 0; j < WAYS; j = j + 1)
            if (v[j])
                lane[wb_idx * WAYS[2:0] + j[2:0]] <= y[32*j +: 32];
        if (rst) begin
            fresh <= 8'hff;
            idx <= {SB{1'b0}};
        end else if (in_valid) begin
            if (last) begin
                fresh <= 8'hff;
                idx <= {SB{1'b0}};
            end else begin
                fresh <= fresh & ~in_mask;
                idx <= idx + 1'b1;
            end
        end
    end

    // ---- capture the row's lanes at the write-back of its last group ----
    reg [255:0] row, row_c;
    reg         row_v;
    reg [2:0]   jw;
    integer     k;
    initial row_v = 1'b0;
    always @(*) begin
        jw = 3'd0;
        for (k = 0; k < 8; k = k + 1) begin
            jw = k[2:0] - wb_idx * WAYS[2:0];  // way of lane k within the written-back group
            row_c[32*k +: 32] = !wb_used[k] ? 32'd0
                              : (jw < WAYS[2:0] && jw < wb_n) ? y[32*jw +: 32] : lane[k];
        end
    end
    always @(posedge clk) begin
        row_v <= v[0] && wb_last;
        row <= row_c;
    end

    fp32_tree8 #(.ADD_LAT(ADD_LAT)) u_tree (
        .clk(clk), .in_valid(row_v), .lanes(row), .out_valid(out_valid), .sum(sum));

    wire unused_tag_v = tag_v;
endmodule

`default_nettype wire
