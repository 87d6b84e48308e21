// hw/qmm_wgear.v: word gearbox of the qmatmul prologue: full-width beats of an fp32 array
// (from axi_rd_stream) in, the array's words out in order, up to 32 at a time.
//
// `clear` (a cycle before the first beat can come) empties it and latches `skip`, the fp32
// words before the array in its first beat (the array's address % beat bytes / 4). `words`
// shows the next 32 words (word 0 at bits 31:0), `n` how many of them are valid (up to 32 +
// a beat are held); `take` (1 .. n, only when n >= take) drops that many from the front in
// this cycle. A beat is accepted (in_ready) while what stays after this cycle's take is at
// most 32 words, so a steady take of 32 every 2 cycles (or 8 a cycle) keeps up with a 512-bit
// beat a cycle. Words past the array's end in its last beat come in too; the user stops
// taking at the array's length.
`default_nettype none

module qmm_wgear #(
    parameter integer DATA_W = 512   // 64, 128, 256 or 512
) (
    input  wire              clk,
    input  wire              clear,
    input  wire [3:0]        skip,      // words to drop from the first beat (< DATA_W / 32)
    input  wire              in_valid,
    output wire              in_ready,
    input  wire [DATA_W-1:0] in_data,
    input  wire [5:0]        take,      // words taken this cycle, 0 .. 32
    output wire [1023:0]     words,
    output wire [7:0]        n
);
    localparam integer WPB = DATA_W / 32;  // words per beat

    reg [1023+DATA_W:0] g;      // words 0 .. cnt-1 valid, the rest zero
    reg [7:0]           cnt;
    reg                 first;  // the next beat is the array's first
    reg [3:0]           skp;
    initial begin
        cnt = 8'd0;
        first = 1'b1;
        skp = 4'd0;
    end

    wire [7:0]          n_after = cnt - {2'b00, take};
    assign in_ready = (n_after <= 8'd32);
    wire                 acc = in_valid && in_ready;
    wire [7:0]           add = first ? WPB[7:0] - {4'd0, skp} : WPB[7:0];
    assign words = g[1023:0];
    assign n = cnt;

    // the held words after this cycle's take and beat (evaluated only in cycles that take or
    // accept: called from the clocked block)
    function automatic [1023+DATA_W:0] g_next(input [1023+DATA_W:0] gg, input [5:0] tk,
                                              input ac, input [DATA_W-1:0] din, input fst,
                                              input [3:0] sk, input [7:0] na);
        reg [1023+DATA_W:0] beat;
        begin
            g_next = gg >> {tk, 5'd0};
            if (ac) begin
                beat = {1024'd0, din} >> (fst ? {sk, 5'd0} : 9'd0);
                g_next = g_next | (beat << {na, 5'd0});
            end
        end
    endfunction

    always @(posedge clk) begin
        if (clear) begin
            g <= {(1024 + DATA_W){1'b0}};
            cnt <= 8'd0;
            first <= 1'b1;
            skp <= skip;
        end else if (take != 6'd0 || acc) begin
            g <= g_next(g, take, acc, in_data, first, skp, n_after);
            cnt <= n_after + (acc ? add : 8'd0);
            if (acc)
                first <= 1'b0;
        end
    end
endmodule

`default_nettype wire
