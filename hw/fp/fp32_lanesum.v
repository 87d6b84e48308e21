// hw/fp/fp32_lanesum.v: the 8-lane fp32 sum of docs/numerics.md as a streaming unit.
//
// Terms arrive one per cycle at most (in_valid, gaps allowed); `last` marks a row's final term.
// Term i of a row (i counted over valid terms) is added to lane i % 8; each lane starts at +0.0f
// (the first term of a lane is really added to +0.0f: -0 becomes +0, a NaN is quieted, as in C).
// After the last term, the row's 8 lanes go through fp32_tree8; out_valid/sum give
// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), bit-exact with fl_lanes_* in
// hls/numerics.h. One fp32_add of ADD_LAT <= 8 cycles is shared by all lanes: term i + 8 reads
// lane i % 8 no earlier than 8 cycles after term i, and the adder's result is forwarded in the
// cycle it is written back, so the lanes never stall. The next row may start the cycle after
// `last`. Latency from `last` to `sum`: ADD_LAT (lane) + 1 (capture) + 3 * ADD_LAT (tree).
`default_nettype none

module fp32_lanesum #(
    parameter integer ADD_LAT = 2  // 1..8
) (
    input  wire        clk,
    input  wire        rst,       // synchronous, active high: empties the current row
    input  wire        in_valid,
    input  wire        last,      // with in_valid: this term ends the row
    input  wire [31:0] term,
    output wire        out_valid,
    output wire [31:0] sum
);
    // ---- lane state ----
    reg [31:0] lane [0:7];
    reg [7:0]  fresh;  // lane not yet added to in the current row (reads as +0.0f)
    reg [2:0]  idx;    // lane of the next term
    initial begin
        fresh = 8'hff;
        idx = 3'd0;
    end

    // ---- the shared adder; the tag {last, used lanes, lane} travels alongside ----
    wire [31:0] add_y;
    wire        add_v;
    wire [11:0] tag_out;
    wire        tag_v;
    wire        wb_last = tag_out[11];
    wire [7:0]  wb_used = tag_out[10:3];
    wire [2:0]  wb_lane = tag_out[2:0];

    // operand: +0.0f for a fresh lane, the value being written back this cycle (forwarding),
    // else the lane register
    wire        fwd = add_v && (wb_lane == idx);
    wire [31:0] acc = fresh[idx] ? 32'd0 : (fwd ? add_y : lane[idx]);
    // lanes used in this row, including the current term's
    wire [7:0]  used_now = ~fresh | (8'd1 << idx);

    fp32_add #(.LATENCY(ADD_LAT)) u_add (
        .clk(clk), .in_valid(in_valid), .a(acc), .b(term), .out_valid(add_v), .y(add_y));
    fp_pipe #(.W(12), .LATENCY(ADD_LAT)) u_tag (
        .clk(clk), .in_valid(in_valid), .in_data({last, used_now, idx}), .out_valid(tag_v),
        .out_data(tag_out));

    integer j;
    always @(posedge clk) begin
        if (add_v)
            lane[wb_lane] <= add_y;
        if (rst) begin
            fresh <= 8'hff;
            idx <= 3'd0;
        end else if (in_valid) begin
            if (last) begin
                fresh <= 8'hff;
                idx <= 3'd0;
            end else begin
                fresh <= fresh & ~(8'd1 << idx);
                idx <= idx + 3'd1;
            end
        end
    end

    // ---- capture the row's lanes at the write-back of its last term ----
    // (in-order adder: every earlier term of the row has been written back, no later one yet)
    reg [255:0] row;
    reg         row_v;
    initial row_v = 1'b0;
    always @(posedge clk) begin
        row_v <= add_v && wb_last;
        for (j = 0; j < 8; j = j + 1)
            row[32*j +: 32] <= !wb_used[j] ? 32'd0
                             : (j[2:0] == wb_lane) ? add_y : lane[j];
    end

    fp32_tree8 #(.ADD_LAT(ADD_LAT)) u_tree (
        .clk(clk), .in_valid(row_v), .lanes(row), .out_valid(out_valid), .sum(sum));

    wire unused_tag_v = tag_v;
endmodule

`default_nettype wire
