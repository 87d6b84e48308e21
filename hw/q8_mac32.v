// hw/q8_mac32.v: the block MAC lane: sumi = sum_j w_j * x_j over 32 int8 pairs, exact in int32
// (docs/numerics.md, qmatmul step 3; |sumi| <= 32 * 128 * 128 = 2^19).
//
// w, x: element j at bits 8j+7..8j, two's complement. 32 signed 8x8 multipliers and a
// five-level adder tree (16-bit products, widening one bit per level to 21 bits), sign-extended
// to 32 bits. Combinational core plus LATENCY output register stages (fp_pipe).
`default_nettype none

module q8_mac32 #(
    parameter integer LATENCY = 1
) (
    input  wire         clk,
    input  wire         in_valid,
    input  wire [255:0] w,  // (32,) int8
    input  wire [255:0] x,  // (32,) int8
    output wire         out_valid,
    output wire [31:0]  sumi
);
    // ---- products and the adder tree ----
    wire signed [15:0] p  [0:31];
    wire signed [16:0] s1 [0:15];
    wire signed [17:0] s2 [0:7];
    wire signed [18:0] s3 [0:3];
    wire signed [19:0] s4 [0:1];
    wire signed [20:0] s5;

    genvar g;
    generate
        for (g = 0; g < 32; g = g + 1) begin : g_mul
            assign p[g] = $signed(w[8*g +: 8]) * $signed(x[8*g +: 8]);
        end
        for (g = 0; g < 16; g = g + 1) begin : g_s1
            assign s1[g] = {p[2*g][15], p[2*g]} + {p[2*g+1][15], p[2*g+1]};
        end
        for (g = 0; g < 8; g = g + 1) begin : g_s2
            assign s2[g] = {s1[2*g][16], s1[2*g]} + {s1[2*g+1][16], s1[2*g+1]};
        end
        for (g = 0; g < 4; g = g + 1) begin : g_s3
            assign s3[g] = {s2[2*g][17], s2[2*g]} + {s2[2*g+1][17], s2[2*g+1]};
        end
        for (g = 0; g < 2; g = g + 1) begin : g_s4
            assign s4[g] = {s3[2*g][18], s3[2*g]} + {s3[2*g+1][18], s3[2*g+1]};
        end
    endgenerate
    assign s5 = {s4[0][19], s4[0]} + {s4[1][19], s4[1]};

    fp_pipe #(.W(32), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data({{11{s5[20]}}, s5}),
        .out_valid(out_valid), .out_data(sumi));
endmodule

`default_nettype wire
