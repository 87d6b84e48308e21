// hw/fp/fp32_round_pack.v: normalise, round to nearest even, and pack an fp32 (combinational).
//
// The shared back end of fp32_add, fp32_mul and int32_to_fp32. Input: a W-bit unsigned
// significand `sig` whose bit W-1 weighs 2^(exp - 127) (so a 1 there is a normal number with
// biased exponent `exp`), a signed biased exponent `exp`, and the sign. Bit 0 of sig may be a
// sticky bit (the OR of bits already shifted out). sig == 0 gives a zero of the given sign.
// Results below 2^-126 become subnormals (gradual underflow, no flush), above the fp32 range inf.
// The arithmetic is the function fp32_rp of fp32_round_pack.vh (the fp units call it from their
// clocked first stage); this module is that function on wires.
`default_nettype none

module fp32_round_pack #(
    parameter integer W = 48,  // significand width, 26 .. 63
    parameter integer EW = 12  // signed exponent width, >= 10
) (
    input  wire          sign,
    input  wire [EW-1:0] exp,  // signed, biased
    input  wire [W-1:0]  sig,
    output wire [31:0]   y
);
    localparam integer RP_W = W, RP_EW = EW;
`include "fp32_round_pack.vh"

    assign y = fp32_rp(sign, exp, sig);
endmodule

`default_nettype wire
