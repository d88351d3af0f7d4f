package datanode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Shared by all tests; set once in TestMain and never modified afterwards.
var (
	testBin      Binaries
	testRoot     string // 0755 directory the postgres user can traverse
	testTemplate string // data directory made once by InitDB
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, err := FindBinaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "datanode tests need PostgreSQL:", err)
		return 1
	}
	if os.Getenv(crashHelperEnv) != "" {
		// A child started by TestAdoptAfterCrash needs no template.
		testBin = bin
		return m.Run()
	}
	root, err := os.MkdirTemp("", "distgres-datanode-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	// MkdirTemp makes the directory 0700; the postgres user must traverse it.
	if err := os.Chmod(root, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	template := filepath.Join(root, "template")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := InitDB(ctx, bin, template, InitOptions{NoSync: true, Fast: true}); err != nil {
		fmt.Fprintln(os.Stderr, "creating template data directory:", err)
		return 1
	}
	testBin, testRoot, testTemplate = bin, root, template
	return m.Run()
}

// newDataDir returns a fresh copy of the template data directory.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(testRoot, "node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := CopyDataDir(testTemplate, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// freePort returns a free TCP port or fails the test.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// appendConf adds line to the postgresql.conf of the data directory dir.
func appendConf(t *testing.T, dir, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// startServer starts a server on a copy of the template and stops it when
// the test ends.
func startServer(t *testing.T) *Server {
	t.Helper()
	return startServerIn(t, newDataDir(t))
}

// startServerIn starts a server on the data directory dir and stops it
// when the test ends.
func startServerIn(t *testing.T, dir string) *Server {
	t.Helper()
	s := NewServer(testBin, dir, nil)
	stopOnCleanup(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Start(ctx, freePort(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

// stopOnCleanup registers s.Stop as a cleanup. Cleanups run last-in
// first-out, so registering this after newDataDir stops the server before
// its directory is removed.
func stopOnCleanup(t *testing.T, s *Server) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", s.Dir(), err)
		}
	})
}
