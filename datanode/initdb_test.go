package datanode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitDBFailureShowsOutput(t *testing.T) {
	t.Parallel()
	binDir, err := os.MkdirTemp(testRoot, "fakebin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho 'initdb: error: something specific went wrong' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(binDir, "initdb"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dataDir := filepath.Join(binDir, "data")
	err = InitDB(ctx, Binaries{Dir: binDir}, dataDir, InitOptions{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "something specific went wrong") {
		t.Fatalf("InitDB with a failing initdb: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dataDir, "junk"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = InitDB(ctx, testBin, dataDir, InitOptions{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("InitDB into a non-empty directory: %v", err)
	}
}

func TestParallelSettings(t *testing.T) {
	tests := []struct {
		cores, shared int
		want          string // the max_parallel_workers_per_gather line, "" for none
	}{
		{cores: 2, shared: 0, want: ""},
		{cores: 2, shared: 1, want: ""},
		{cores: 2, shared: 3, want: "max_parallel_workers_per_gather = 0"},
		{cores: 4, shared: 2, want: "max_parallel_workers_per_gather = 1"},
		{cores: 16, shared: 3, want: "max_parallel_workers_per_gather = 2"},
	}
	for _, tt := range tests {
		got := parallelSettings(tt.cores, tt.shared)
		if tt.want == "" {
			if got != "" {
				t.Errorf("parallelSettings(%d, %d) = %q, want nothing", tt.cores, tt.shared, got)
			}
			continue
		}
		if !strings.Contains(got, "\n"+tt.want+"\n") {
			t.Errorf("parallelSettings(%d, %d) = %q, want a line %q", tt.cores, tt.shared, got, tt.want)
		}
	}
}
