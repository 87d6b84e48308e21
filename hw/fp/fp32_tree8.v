// hw/fp/fp32_tree8.v: the fixed reduction tree of the 8-lane sum (docs/numerics.md):
//   sum = ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))
// seven fp32_add units in three levels, operand order as written (it matters for NaN payloads
// only). One tree per cycle; latency 3 * ADD_LAT.
`default_nettype none

module fp32_tree8 #(
    parameter integer ADD_LAT = 2
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [255:0] lanes,  // (8,) fp32, lane i at bits 32i +: 32
    output wire         out_valid,
    output wire [31:0]  sum
);
    wire [31:0] s1 [0:3];
    wire [31:0] s2 [0:1];
    wire [3:0]  v1;
    wire [1:0]  v2;

    genvar g;
    generate
        for (g = 0; g < 4; g = g + 1) begin : g_l1
            fp32_add #(.LATENCY(ADD_LAT)) u_add (
                .clk(clk), .in_valid(in_valid), .a(lanes[64*g +: 32]), .b(lanes[64*g+32 +: 32]),
                .out_valid(v1[g]), .y(s1[g]));
        end
        for (g = 0; g < 2; g = g + 1) begin : g_l2
            fp32_add #(.LATENCY(ADD_LAT)) u_add (
                .clk(clk), .in_valid(v1[2*g]), .a(s1[2*g]), .b(s1[2*g+1]),
                .out_valid(v2[g]), .y(s2[g]));
        end
    endgenerate
    fp32_add #(.LATENCY(ADD_LAT)) u_root (
        .clk(clk), .in_valid(v2[0]), .a(s2[0]), .b(s2[1]), .out_valid(out_valid), .y(sum));

    // the copies of valid in the other branches are identical
    wire unused_v = &{v1[3:1], v2[1]};
endmodule

`default_nettype wire
