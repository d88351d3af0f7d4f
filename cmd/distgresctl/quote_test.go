package main

import "testing"

func TestQuoteLiteral(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"node1", "'node1'"},
		{"o'brien", "'o''brien'"},
		{"''", "''''''"},
		{"x'); DROP TABLE t; --", "'x''); DROP TABLE t; --'"},
		{`a\b`, `E'a\\b'`},
		{`\'`, `E'\\'''`},
		{"ünïcode", "'ünïcode'"},
	}
	for _, tt := range tests {
		if got := quoteLiteral(tt.in); got != tt.want {
			t.Errorf("quoteLiteral(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
