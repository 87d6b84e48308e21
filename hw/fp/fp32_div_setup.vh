// hw/fp/fp32_div_setup.vh: the operand stage shared by fp32_div (sequential) and fp32_div_pipe
// (unrolled), `include'd inside those modules: unpack and normalise a / b (subnormals in, no
// flush) and decide the special cases as x86's divss: a NaN operand comes back quieted, a's
// first; 0/0 and inf/inf give 0xffc00000; x/0 = inf, inf/x = inf, x/inf = 0, 0/x = 0 with the
// xor of the signs. Both dividers then compute Q = floor(ma_n * 2^26 / div) by restoring steps.

// leading zeros of a nonzero 24-bit significand (binary search)
function automatic [4:0] lzc24(input [23:0] lz_in);
    reg [23:0] v;
    begin
        v = lz_in;
        lzc24 = 5'd0;
        if (v[23:8] == 16'd0) begin lzc24 = lzc24 + 5'd16; v = {v[7:0], 16'd0}; end
        if (v[23:16] == 8'd0) begin lzc24 = lzc24 + 5'd8; v = {v[15:0], 8'd0}; end
        if (v[23:20] == 4'd0) begin lzc24 = lzc24 + 5'd4; v = {v[19:0], 4'd0}; end
        if (v[23:22] == 2'd0) begin lzc24 = lzc24 + 5'd2; v = {v[21:0], 2'd0}; end
        if (v[23] == 1'b0) lzc24 = lzc24 + 5'd1;
    end
endfunction

// {special, y_special (32), sign, e (12, biased quotient exponent), ma_n (24), div (24)}:
// normalised significands (bit 23 set for finite nonzero operands; div = 2^23 for specials)
function automatic [93:0] div_setup(input [31:0] fa, input [31:0] fb);
    reg        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero, s, special;
    reg [23:0] ma, mb, ma_n, mb_n;
    reg [4:0]  lza, lzb;
    reg [11:0] ea_n, eb_n;
    reg [31:0] y_special;
    begin
        a_nan = (fa[30:23] == 8'hff) && (fa[22:0] != 23'd0);
        b_nan = (fb[30:23] == 8'hff) && (fb[22:0] != 23'd0);
        a_inf = (fa[30:23] == 8'hff) && (fa[22:0] == 23'd0);
        b_inf = (fb[30:23] == 8'hff) && (fb[22:0] == 23'd0);
        a_zero = (fa[30:0] == 31'd0);
        b_zero = (fb[30:0] == 31'd0);
        s = fa[31] ^ fb[31];
        ma = {(fa[30:23] != 8'd0), fa[22:0]};
        mb = {(fb[30:23] != 8'd0), fb[22:0]};
        lza = lzc24(ma);
        lzb = lzc24(mb);
        ma_n = ma << lza;  // bit 23 set (finite nonzero operands)
        mb_n = mb << lzb;
        // effective biased exponents after normalisation (subnormals: 1 - shift)
        ea_n = {4'd0, (fa[30:23] == 8'd0) ? 8'd1 : fa[30:23]} - {7'd0, lza};
        eb_n = {4'd0, (fb[30:23] == 8'd0) ? 8'd1 : fb[30:23]} - {7'd0, lzb};
        special = 1'b1;
        if (a_nan)
            y_special = fa | 32'h0040_0000;
        else if (b_nan)
            y_special = fb | 32'h0040_0000;
        else if ((a_zero && b_zero) || (a_inf && b_inf))
            y_special = 32'hffc0_0000;
        else if (a_inf || b_zero)
            y_special = {s, 8'hff, 23'd0};
        else if (a_zero || b_inf)
            y_special = {s, 31'd0};
        else begin
            special = 1'b0;
            y_special = 32'd0;
        end
        div_setup = {special, y_special, s, ea_n - eb_n + 12'd127, ma_n,
                     special ? 24'h80_0000 : mb_n};
    end
endfunction
