package sqllogictest

import (
	"strings"
	"testing"
)

func TestFormatValue(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name   string
		letter byte
		v      *string
		want   string
	}{
		// NULL, whatever the type.
		{"null I", 'I', nil, "NULL"},
		{"null R", 'R', nil, "NULL"},
		{"null T", 'T', nil, "NULL"},
		{"null without letter", 0, nil, "NULL"},

		// Integers.
		{"int", 'I', str("42"), "42"},
		{"negative int", 'I', str("-17"), "-17"},
		{"zero", 'I', str("0"), "0"},
		{"bigint", 'I', str("-9223372036854775808"), "-9223372036854775808"},
		{"beyond int64", 'I', str("123456789012345678901234567890"), "123456789012345678901234567890"},
		{"plus sign", 'I', str("+5"), "5"},
		{"leading zeros", 'I', str("007"), "7"},
		{"negative zero", 'I', str("-0"), "0"},
		{"bool true in I", 'I', str("t"), "1"},
		{"bool false in I", 'I', str("f"), "0"},

		// Numbers truncated toward zero in I.
		{"numeric", 'I', str("3.75"), "3"},
		{"negative numeric", 'I', str("-2.5"), "-2"},
		{"negative fraction", 'I', str("-0.5"), "0"},
		{"fraction", 'I', str("0.9999999999999999999999"), "0"},
		{"numeric avg", 'I', str("43.3333333333333333"), "43"},
		{"trailing zeros", 'I', str("120.000"), "120"},
		{"leading point", 'I', str(".5"), "0"},
		{"trailing point", 'I', str("7."), "7"},
		{"float exponent", 'I', str("1e+20"), "100000000000000000000"},
		{"negative float exponent", 'I', str("-1.5e+3"), "-1500"},
		{"small float", 'I', str("1.5e-05"), "0"},
		{"big float", 'I', str("1.7976931348623157e+308"), "17976931348623157" + strings.Repeat("0", 292)},
		{"huge numeric", 'I', str("98765432109876543210.99"), "98765432109876543210"},
		{"zero with exponent", 'I', str("0e+99999"), "0"},
		{"NaN in I", 'I', str("NaN"), "NaN"},
		{"Infinity in I", 'I', str("Infinity"), "Infinity"},
		{"-Infinity in I", 'I', str("-Infinity"), "-Infinity"},
		{"absurd exponent in I", 'I', str("1e+999999999"), "1e+999999999"},
		{"too much expansion in I", 'I', str("1e+9999"), "1e+9999"},

		// Text in an I column is shown as in T.
		{"text in I", 'I', str("abc"), "abc"},
		{"empty in I", 'I', str(""), "(empty)"},
		{"spaces around a number in I", 'I', str(" 12"), " 12"},
		{"number with suffix in I", 'I', str("12abc"), "12abc"},
		{"hex in I", 'I', str("0x10"), "0x10"},
		{"inf spelling in I", 'I', str("inf"), "inf"},
		{"lone sign in I", 'I', str("-"), "-"},
		{"lone point in I", 'I', str("."), "."},
		{"exponent without digits in I", 'I', str("1e"), "1e"},
		{"exponent sign only in I", 'I', str("1e+"), "1e+"},
		{"unprintable in I", 'I', str("a\tb"), "a@b"},
		{"date in I", 'I', str("2024-01-02"), "2024-01-02"},

		// Reals.
		{"real", 'R', str("3.14159"), "3.142"},
		{"real integer", 'R', str("5"), "5.000"},
		{"negative real", 'R', str("-2.5"), "-2.500"},
		{"real rounding", 'R', str("0.0005"), "0.001"},
		{"real binary rounding", 'R', str("1.0005"), "1.000"}, // 1.000499999… as a float64, as in C
		{"real exponent", 'R', str("1e+20"), "100000000000000000000.000"},
		{"real small exponent", 'R', str("1.5e-05"), "0.000"},
		{"real negative small", 'R', str("-0.0001"), "-0.000"},
		{"real numeric beyond float64", 'R', str("1" + strings.Repeat("0", 400) + ".12345"), "1" + strings.Repeat("0", 400) + ".123"},
		{"real bool true", 'R', str("t"), "1.000"},
		{"real bool false", 'R', str("f"), "0.000"},
		{"NaN in R", 'R', str("NaN"), "NaN"},
		{"Infinity in R", 'R', str("Infinity"), "Infinity"},
		{"-Infinity in R", 'R', str("-Infinity"), "-Infinity"},
		{"text in R", 'R', str("abc"), "abc"},
		{"empty in R", 'R', str(""), "(empty)"},

		// Text.
		{"text", 'T', str("hello world"), "hello world"},
		{"empty text", 'T', str(""), "(empty)"},
		{"number as text", 'T', str("3.75"), "3.75"},
		{"bool as text", 'T', str("t"), "t"},
		{"all printable ASCII", 'T', str(" ~!"), " ~!"},
		{"tab and newline", 'T', str("a\tb\nc\r"), "a@b@c@"},
		{"control and DEL", 'T', str("\x00\x1f\x7f"), "@@@"},
		{"multi-byte UTF-8 is one character", 'T', str("café ☃ 😀"), "caf@ @ @"},
		{"invalid UTF-8 bytes", 'T', str("a\xff\xfeb"), "a@@b"},
		{"NULL text", 'T', str("NULL"), "NULL"},

		// A missing or unknown letter means T.
		{"missing letter", 0, str("3.75"), "3.75"},
		{"missing letter empty", 0, str(""), "(empty)"},
		{"unknown letter", 'B', str("t"), "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatValue(tt.letter, tt.v); got != tt.want {
				t.Errorf("FormatValue(%q, %q) = %q, want %q", tt.letter, formatTestInput(tt.v), got, tt.want)
			}
		})
	}
}

func formatTestInput(v *string) string {
	if v == nil {
		return "<nil>"
	}
	return *v
}
