// hw/fp/fp16_to_fp32.v: IEEE binary16 -> binary32, exact, as fl_fp16_to_fp32 (flare/fp16.h).
//
// Subnormal halves are normalised; inf and NaN keep sign and payload (man << 13; a signalling
// NaN stays signalling, as in the C). Combinational core plus LATENCY output register stages.
`default_nettype none

module fp16_to_fp32 #(
    parameter integer LATENCY = 0
) (
    input  wire        clk,
    input  wire        in_valid,
    input  wire [15:0] h,
    output wire        out_valid,
    output wire [31:0] y
);
    wire       s = h[15];
    wire [4:0] e = h[14:10];
    wire [9:0] m = h[9:0];

    // leading zeros of the 10-bit fraction (for subnormals; m != 0 there)
    function automatic [3:0] lzc10(input [9:0] v);
        integer j;
        reg found;
        begin
            lzc10 = 4'd10;
            found = 1'b0;
            for (j = 9; j >= 0; j = j - 1) begin
                if (!found && v[j]) begin
                    lzc10 = 4'd9 - j[3:0];
                    found = 1'b1;
                end
            end
        end
    endfunction

    wire [3:0]  lz = lzc10(m);
    wire [9:0]  mn = m << (lz + 4'd1);  // leading 1 shifted out (it is the hidden bit)
    // value m * 2^-24 = 1.f * 2^(-15 - lz): biased exponent 112 - lz
    wire [7:0]  e_sub = 8'd112 - {4'd0, lz};

    reg [31:0] y_c;
    always @(*) begin
        if (e == 5'h1f)
            y_c = {s, 8'hff, m, 13'd0};
        else if (e == 5'd0)
            y_c = (m == 10'd0) ? {s, 31'd0} : {s, e_sub, mn, 13'd0};
        else
            y_c = {s, {3'd0, e} + 8'd112, m, 13'd0};
    end

    fp_pipe #(.W(32), .LATENCY(LATENCY)) u_pipe (
        .clk(clk), .in_valid(in_valid), .in_data(y_c), .out_valid(out_valid), .out_data(y));
endmodule

`default_nettype wire
