// hw/fp/fp32_round_pack.v: normalise, round to nearest even, and pack an fp32 (combinational).
//
// The shared back end of fp32_add, fp32_mul and int32_to_fp32. Input: a W-bit unsigned
// significand `sig` whose bit W-1 weighs 2^(exp - 127) (so a 1 there is a normal number with
// biased exponent `exp`), a signed biased exponent `exp`, and the sign. Bit 0 of sig may be a
// sticky bit (the OR of bits already shifted out). sig == 0 gives a zero of the given sign.
// Results below 2^-126 become subnormals (gradual underflow, no flush), above the fp32 range inf.
`default_nettype none

module fp32_round_pack #(
    parameter integer W = 48,  // significand width, >= 26
    parameter integer EW = 12  // signed exponent width
) (
    input  wire          sign,
    input  wire [EW-1:0] exp,  // signed, biased
    input  wire [W-1:0]  sig,
    output wire [31:0]   y
);
    // ---- leading zero count ----
    function automatic [7:0] lzc(input [W-1:0] lz_in);
        integer bi;
        reg found;
        begin
            lzc = W[7:0];
            found = 1'b0;
            for (bi = W - 1; bi >= 0; bi = bi - 1) begin
                if (!found && lz_in[bi]) begin
                    lzc = W[7:0] - 8'd1 - bi[7:0];
                    found = 1'b1;
                end
            end
        end
    endfunction

    wire [7:0]    lz = lzc(sig);
    wire [W-1:0]  sig_n = sig << lz;  // bit W-1 set (unless sig == 0)
    wire signed [EW-1:0] e_n = $signed(exp) - $signed({{(EW-8){1'b0}}, lz});

    // ---- gradual underflow: below exponent 1, shift right by 1 - e_n with sticky ----
    wire          sub = (e_n < 1);
    wire signed [EW-1:0] rsh_s = 1 - e_n;
    wire [EW-1:0] rsh = sub ? rsh_s : {EW{1'b0}};
    wire          rsh_big = (rsh >= W[EW-1:0]);
    wire [W-1:0]  lost_mask = rsh_big ? {W{1'b1}} : ~({W{1'b1}} << rsh);
    wire [W-1:0]  sig_s = rsh_big ? {W{1'b0}} : (sig_n >> rsh);
    wire          lost = |(sig_n & lost_mask);

    // ---- round to nearest even at bit W-24 ----
    // sig_s[W-1] is the hidden bit: it is carried by the exponent field, not stored
    wire [22:0]   keep = sig_s[W-2:W-24];
    wire          guard = sig_s[W-25];
    wire          sticky = (|sig_s[W-26:0]) | lost;
    wire          rup = guard & (sticky | keep[0]);

    // {exponent field, fraction} + round-up: a carry out of the fraction bumps the exponent
    // (and rounds 0x7f7fffff+ up to inf; a subnormal rounding up to 2^-126 becomes normal).
    wire [7:0]    e_field = sub ? 8'd0 : e_n[7:0];
    wire [30:0]   packed_r = {e_field, keep} + {30'd0, rup};
    wire          ovf = !sub && (e_n >= 255);
    wire          zero = (sig == {W{1'b0}});

    assign y = zero ? {sign, 31'd0}
             : ovf  ? {sign, 8'hff, 23'd0}
             :        {sign, packed_r};
endmodule

`default_nettype wire
