package executor

import (
	"encoding/hex"
	"testing"
)

// Expected bytes are what PostgreSQL 15's numeric_send produces, e.g.
// `SELECT numeric_send('12.3400')` (checked on a PostgreSQL 15.18 data node).
func TestAppendNumericBinary(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0000000000000000"},
		{"0.00", "0000000000000002"},
		{"1", "0001000000000000" + "0001"},
		{"-1", "0001000040000000" + "0001"},
		{"12.3400", "00020000000000040" + "00c0d48"},
		{"10000", "0001000100000000" + "0001"},
		{"0.0001", "0001ffff00000004" + "0001"},
		{"4.5833333333333333", "00050000000000100004" + "16c9" + "0d05" + "0d05" + "0d05"},
		{"NaN", "00000000c0000000"},
		{"Infinity", "00000000d0000000"},
		{"-Infinity", "00000000f0000000"},
	}
	for _, tt := range tests {
		got, err := appendNumericBinary(nil, []byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("numeric %s = %x, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := appendNumericBinary(nil, []byte("1e5")); err == nil {
		t.Error("1e5: want an error")
	}
}
