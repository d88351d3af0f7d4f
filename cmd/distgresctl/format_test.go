package main

import "testing"

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 kB"},
		{1536, "1.5 kB"},
		{10 * 1024, "10 kB"},
		{4404019, "4.2 MB"},
		{12 << 20, "12 MB"},
		{300 << 20, "300 MB"},
		{1023 << 20, "1023 MB"},
		{3 << 40, "3.0 TB"},
		{-2048, "-2.0 kB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatCell(t *testing.T) {
	tests := []struct {
		column string
		v      any
		want   string
	}{
		{"bytes", int64(12 << 20), "12 MB"},
		{"bytes_done", int64(512), "512 B"},
		{"bytes", nil, ""},
		{"shards", int32(12), "12"},
		{"bytesize", int64(2048), "2048"}, // not a size column
		{"voter", true, "t"},
		{"is_leader", false, "f"},
		{"client_address", nil, ""},
		{"name", "n1", "n1"},
	}
	for _, tt := range tests {
		if got := formatCell(tt.column, tt.v); got != tt.want {
			t.Errorf("formatCell(%q, %#v) = %q, want %q", tt.column, tt.v, got, tt.want)
		}
	}
}
