// Package harness starts real local distgres clusters for tests: PostgreSQL
// data nodes copied from one initdb template per test binary, on free
// loopback ports, and a coordinator in the test process. Everything is
// stopped and removed when the test ends.
package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/datanode"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
	baseDir      string
)

// Template returns an initdb'ed data directory made once per test binary.
func Template(tb testing.TB) string {
	tb.Helper()
	templateOnce.Do(func() {
		bin, err := datanode.FindBinaries()
		if err != nil {
			templateErr = err
			return
		}
		baseDir, err = os.MkdirTemp(scratchDir(), "distgres-test-")
		if err != nil {
			templateErr = err
			return
		}
		os.Chmod(baseDir, 0o755)
		templateDir = filepath.Join(baseDir, "template")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		templateErr = datanode.InitDB(ctx, bin, templateDir, datanode.InitOptions{NoSync: true, Fast: true})
	})
	if templateErr != nil {
		tb.Fatalf("harness: data node template: %v", templateErr)
	}
	return templateDir
}

// scratchDir is where test clusters live: DISTGRES_TEST_DIR, else
// /dev/shm when it exists (creating PostgreSQL's thousands of small files
// is many times faster on tmpfs), else the system temp directory.
func scratchDir() string {
	if d := os.Getenv("DISTGRES_TEST_DIR"); d != "" {
		return d
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "distgres-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return ""
}

// Cleanup removes the template; call it from TestMain after m.Run.
func Cleanup() {
	if baseDir != "" {
		os.RemoveAll(baseDir)
	}
}

// Options for Start.
type Options struct {
	Nodes               int
	Shards              int
	DefaultDistribution string
	Users               *auth.Users
	// Dir reuses a cluster directory (for restart tests); empty makes one.
	Dir string
}

// Start starts a cluster and stops it when the test ends.
func Start(tb testing.TB, opts Options) *cluster.Cluster {
	tb.Helper()
	tpl := Template(tb)
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Shards == 0 {
		opts.Shards = 8
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp(baseDir, "cluster-")
		if err != nil {
			tb.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// DISTGRES_TEST_LOG=1 shows the coordinators' logs (a statement's
	// panic stack among them) on stderr.
	var logger *slog.Logger
	if os.Getenv("DISTGRES_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := cluster.Up(ctx, cluster.Options{
		Dir: dir, Nodes: opts.Nodes, Shards: opts.Shards, Template: tpl, Fast: true,
		DefaultDistribution: opts.DefaultDistribution, Users: opts.Users, Logger: logger,
	})
	if err != nil {
		tb.Fatalf("harness: starting cluster: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			tb.Logf("harness: stopping cluster: %v", err)
		}
	})
	return c
}

// StartPostgres starts a stock PostgreSQL server (the reference the
// cluster's answers are compared with) and returns its URL.
func StartPostgres(tb testing.TB) string {
	tb.Helper()
	tpl := Template(tb)
	bin, err := datanode.FindBinaries()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp(baseDir, "reference-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	pgdir := filepath.Join(dir, "data")
	if err := datanode.CopyDataDir(tpl, pgdir); err != nil {
		tb.Fatal(err)
	}
	s := datanode.NewServer(bin, pgdir, nil)
	port, err := datanode.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Start(ctx, port); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.Stop(ctx)
	})
	return s.URL()
}

// Exec runs SQL through pgconn (simple protocol) and fails the test on
// error.
func Exec(tb testing.TB, url, sql string) []*pgconn.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		tb.Fatalf("exec %q: %v", sql, err)
	}
	return res
}

// URL adds sslmode=disable to a URL.
func URL(base string) string {
	return fmt.Sprintf("%s?sslmode=disable", base)
}
