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
