// hw/fp/fp32_round_pack.vh: fp32_round_pack's arithmetic (normalise, round to nearest even,
// pack) as a function, `include'd inside a module that defines the localparams
//   RP_W  (26 .. 63)  significand width: bit RP_W-1 weighs 2^(exp - 127), bit 0 may be sticky
//   RP_EW (>= 10)     signed biased exponent width
// fp32_round_pack.v is this function as a module; the fp units call it inside the clocked block
// of their first register stage, so a simulator evaluates it only in cycles with a valid
// operand (Verilator evaluates every continuous assignment every cycle).
// Results below 2^-126 become subnormals (gradual underflow, no flush), above the range inf;
// rp_sig == 0 gives a zero of the given sign.
function automatic [31:0] fp32_rp(input rp_sign, input [RP_EW-1:0] rp_exp,
                                  input [RP_W-1:0] rp_sig);
    reg [63:0]       rp_v;          // the significand at the top, shifted up by rp_lz bits
    reg [7:0]        rp_lz;
    reg [RP_W-1:0]   rp_sig_n, rp_sig_s, rp_lost_mask;
    reg [RP_EW-1:0]  rp_e_n, rp_rsh;   // rp_e_n is signed
    reg              rp_sub, rp_lost, rp_guard, rp_sticky, rp_rup, rp_ovf;
    reg [22:0]       rp_keep;
    reg [7:0]        rp_e_field;
    reg [30:0]       rp_packed_r;
    begin
        // ---- leading zeros (binary search; 63 when rp_sig == 0, unused then) ----
        rp_v = {rp_sig, {(64 - RP_W){1'b0}}};
        rp_lz = 8'd0;
        if (rp_v[63:32] == 32'd0) begin rp_lz = rp_lz + 8'd32; rp_v = {rp_v[31:0], 32'd0}; end
        if (rp_v[63:48] == 16'd0) begin rp_lz = rp_lz + 8'd16; rp_v = {rp_v[47:0], 16'd0}; end
        if (rp_v[63:56] == 8'd0)  begin rp_lz = rp_lz + 8'd8;  rp_v = {rp_v[55:0], 8'd0};  end
        if (rp_v[63:60] == 4'd0)  begin rp_lz = rp_lz + 8'd4;  rp_v = {rp_v[59:0], 4'd0};  end
        if (rp_v[63:62] == 2'd0)  begin rp_lz = rp_lz + 8'd2;  rp_v = {rp_v[61:0], 2'd0};  end
        if (rp_v[63] == 1'b0)     begin rp_lz = rp_lz + 8'd1;  rp_v = {rp_v[62:0], 1'b0};  end
        rp_sig_n = rp_v[63 -: RP_W];   // = rp_sig << rp_lz: bit RP_W-1 set
        rp_e_n = rp_exp - {{(RP_EW - 8){1'b0}}, rp_lz};
        // ---- gradual underflow: below exponent 1, shift right by 1 - rp_e_n, sticky ----
        rp_sub = $signed(rp_e_n) < 1;
        if (rp_sub) begin
            rp_rsh = {{(RP_EW - 1){1'b0}}, 1'b1} - rp_e_n;
            if (rp_rsh >= RP_W[RP_EW-1:0]) begin
                rp_lost_mask = {RP_W{1'b1}};
                rp_sig_s = {RP_W{1'b0}};
            end else begin
                rp_lost_mask = ~({RP_W{1'b1}} << rp_rsh);
                rp_sig_s = rp_sig_n >> rp_rsh;
            end
            rp_lost = |(rp_sig_n & rp_lost_mask);
        end else begin
            rp_sig_s = rp_sig_n;
            rp_lost = 1'b0;
        end
        // ---- round to nearest even at bit RP_W-24 (rp_sig_s[RP_W-1], the hidden bit, is carried
        // by the exponent field) ----
        rp_keep = rp_sig_s[RP_W-2 -: 23];
        rp_guard = rp_sig_s[RP_W-25];
        rp_sticky = (|rp_sig_s[RP_W-26:0]) | rp_lost;
        rp_rup = rp_guard & (rp_sticky | rp_keep[0]);
        // a carry out of the fraction bumps the exponent (0x7f7fffff+ rounds up to inf, a
        // subnormal rounding up to 2^-126 becomes normal)
        rp_e_field = rp_sub ? 8'd0 : rp_e_n[7:0];
        rp_packed_r = {rp_e_field, rp_keep} + {30'd0, rp_rup};
        rp_ovf = !rp_sub && ($signed(rp_e_n) >= 255);
        if (rp_sig == {RP_W{1'b0}})
            fp32_rp = {rp_sign, 31'd0};
        else if (rp_ovf)
            fp32_rp = {rp_sign, 8'hff, 23'd0};
        else
            fp32_rp = {rp_sign, rp_packed_r};
    end
endfunction
