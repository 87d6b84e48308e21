// hw/q8_rne_clamp.v: fl_rne_clamp127 (hls/numerics.h): an fp32 v to an int8 q, round to nearest
// with ties to even, clamped to [-127, 127], NaN -> 0 (docs/numerics.md, qmatmul step 2).
// Combinational: the function q8_rne_f of q8_rne_clamp.vh on wires.
`default_nettype none

module q8_rne_clamp (
    input  wire [31:0] v,
    output wire [7:0]  q   // int8
);
`include "q8_rne_clamp.vh"

    assign q = q8_rne_f(v);
endmodule

`default_nettype wire
