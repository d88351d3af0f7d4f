package main

import (
	"context"
	"testing"
)

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in      string
		host    string
		port    int
		wantErr bool
	}{
		{in: "10.0.0.5:5432", host: "10.0.0.5", port: 5432},
		{in: "db-1.example.com:6432", host: "db-1.example.com", port: 6432},
		{in: "[::1]:5432", host: "::1", port: 5432},
		{in: "[fe80::1%eth0]:5433", host: "fe80::1%eth0", port: 5433},
		{in: "localhost", wantErr: true},
		{in: "::1:5432", wantErr: true},
		{in: ":5432", wantErr: true},
		{in: "host:", wantErr: true},
		{in: "host:abc", wantErr: true},
		{in: "host:0", wantErr: true},
		{in: "host:65536", wantErr: true},
		{in: "host:-1", wantErr: true},
	}
	for _, tt := range tests {
		host, port, err := parseHostPort(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseHostPort(%q) = %q, %d; want an error", tt.in, host, port)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port {
			t.Errorf("parseHostPort(%q) = %q, %d, %v; want %q, %d", tt.in, host, port, err, tt.host, tt.port)
		}
	}
}

func TestDrainEstimate(t *testing.T) {
	db := &fakeDB{answers: map[string]*result{
		nodeShardsSQL: {
			columns: []string{"colocation_id", "shard_index", "nodes", "bytes"},
			rows: [][]any{
				{int64(1), int32(0), "n1", int64(100)},
				{int64(1), int32(0), "n1", int64(50)}, // colocated with the first: same group
				{int64(1), int32(1), "n2", int64(70)},
				{int64(2), int32(0), "n2, n1", int64(30)},
				{int64(3), int32(0), "n10", int64(1000)}, // not n1
			},
		},
	}}
	got, err := drainEstimate(context.Background(), db, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (estimate{groups: 2, bytes: 180}); got != want {
		t.Errorf("drainEstimate = %+v, want %+v", got, want)
	}

	// A shard of unknown size: the bytes are unknown.
	db.answers[nodeShardsSQL].rows = append(db.answers[nodeShardsSQL].rows, []any{int64(4), int32(0), "n1", nil})
	got, err = drainEstimate(context.Background(), db, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (estimate{groups: 3}); got != want {
		t.Errorf("drainEstimate with a NULL size = %+v, want %+v", got, want)
	}
}
