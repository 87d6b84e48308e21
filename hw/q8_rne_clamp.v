// hw/q8_rne_clamp.v: fl_rne_clamp127 (hls/numerics.h): an fp32 v to an int8 q, round to nearest
// with ties to even, clamped to [-127, 127], NaN -> 0 (docs/numerics.md, qmatmul step 2).
// The C rounds by adding and subtracting 1.5 * 2^23; for |v| < 127 that is exactly the integer
// rounding done here on the significand. Combinational.
`default_nettype none

module q8_rne_clamp (
    input  wire [31:0] v,
    output reg  [7:0]  q   // int8
);
    wire        s = v[31];
    wire [7:0]  e = v[30:23];
    wire [23:0] m = {(e != 8'd0), v[22:0]};
    // |v| = m * 2^(e - 150); for 126 <= e <= 133 (0.5 <= |v| < 256) the integer part is m >> sh
    wire [7:0]  sh8 = 8'd150 - e;
    wire [4:0]  sh = sh8[4:0];                          // 17..24 where it is used
    wire [23:0] ip = m >> sh;
    wire [23:0] rem = m & ~({24{1'b1}} << sh);
    wire [23:0] half = 24'd1 << (sh - 5'd1);
    wire        up = (rem > half) || ((rem == half) && ip[0]);
    wire [7:0]  mag = ip[7:0] + {7'd0, up};             // <= 127 when |v| < 127

    // bits zero where each value is used
    wire unused = &{1'b0, sh8[7:5], ip[23:8]};

    always @(*) begin
        if (e == 8'hff && v[22:0] != 23'd0)
            q = 8'd0;                                   // NaN
        else if (v[30:0] >= 31'h42fe_0000)              // |v| >= 127 (inf included)
            q = s ? 8'h81 : 8'h7f;
        else if (e < 8'd126)                            // |v| < 0.5
            q = 8'd0;
        else
            q = s ? (8'd0 - mag) : mag;
    end
endmodule

`default_nettype wire
