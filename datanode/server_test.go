package datanode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func showSetting(t *testing.T, ctx context.Context, url, name string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", name, err)
	}
	return v
}

func TestServerStartStop(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	want := map[string]string{
		"max_prepared_transactions": "64",
		"wal_level":                 "logical",
		"listen_addresses":          "127.0.0.1",
		"unix_socket_directories":   SocketDir,
		"max_connections":           "200",
		"max_wal_senders":           "10",
		"max_replication_slots":     "10",
		"fsync":                     "off",
		"server_encoding":           "UTF8",
	}
	for name, v := range want {
		if got := showSetting(t, ctx, s.URL(), name); got != v {
			t.Errorf("SHOW %s = %q, want %q", name, got, v)
		}
	}
	if want := "postgres://postgres@127.0.0.1:" + strconv.Itoa(s.Port()) + "/postgres"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if pid, port, ok := Running(s.Dir()); !ok || pid != s.PID() || port != s.Port() {
		t.Errorf("Running = %d, %d, %v; want %d, %d, true", pid, port, ok, s.PID(), s.Port())
	}
	if err := s.Start(ctx, s.Port()); err == nil {
		t.Error("second Start of a running server succeeded")
	}

	pid := s.PID()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("postgres pid %d still alive after Stop", pid)
	}
	if _, _, ok := Running(s.Dir()); ok {
		t.Error("Running reports a server after Stop")
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(s.LogPath()); err != nil {
		t.Errorf("log file: %v", err)
	}

	// A stopped server can be started again.
	if err := s.Start(ctx, freePort(t)); err != nil {
		t.Fatal(err)
	}
	if got := showSetting(t, ctx, s.URL(), "wal_level"); got != "logical" {
		t.Errorf("after restart wal_level = %q", got)
	}
}

func TestServerPortInUse(t *testing.T) {
	t.Parallel()
	first := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	second := NewServer(testBin, newDataDir(t), nil)
	stopOnCleanup(t, second)
	err := second.Start(ctx, first.Port())
	want := "port " + strconv.Itoa(first.Port()) + " is already in use"
	if err == nil || err.Error() != want || !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Start on a busy port: %v; want %q", err, want)
	}
	if second.PID() != 0 {
		t.Errorf("failed Start left pid %d", second.PID())
	}

	// Bypass the pre-check to exercise detection from postgres' own log,
	// which is what happens when another process grabs the port between
	// the check and the bind.
	err = second.launch(ctx, first.Port())
	if err == nil || err.Error() != want {
		t.Fatalf("launch on a busy port: %v; want %q", err, want)
	}
}

func TestServerExitsEarly(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	appendConf(t, dir, "shared_buffers = 'lots'")

	s := NewServer(testBin, dir, nil)
	stopOnCleanup(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := s.Start(ctx, freePort(t))
	if err == nil {
		t.Fatal("Start with a broken postgresql.conf succeeded")
	}
	if !strings.Contains(err.Error(), "during startup") || !strings.Contains(err.Error(), "shared_buffers") {
		t.Errorf("error lacks the log tail: %v", err)
	}
}

func TestServerAdopt(t *testing.T) {
	t.Parallel()
	crashed := startServer(t) // its process keeps running; we "forget" it
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	s := NewServer(testBin, crashed.Dir(), nil)
	stopOnCleanup(t, s)
	err := s.Start(ctx, freePort(t))
	if err == nil || !strings.Contains(err.Error(), "already in use by postgres") {
		t.Fatalf("Start on a running data directory: %v", err)
	}
	ok, err := s.Adopt(ctx)
	if err != nil || !ok {
		t.Fatalf("Adopt = %v, %v; want true, nil", ok, err)
	}
	if s.Port() != crashed.Port() || s.PID() != crashed.PID() {
		t.Errorf("adopted port %d pid %d, want %d %d", s.Port(), s.PID(), crashed.Port(), crashed.PID())
	}
	if got := showSetting(t, ctx, s.URL(), "wal_level"); got != "logical" {
		t.Errorf("wal_level = %q", got)
	}
	pid := s.PID()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("postgres pid %d alive after Stop of adopted server", pid)
	}
	if _, _, ok := Running(s.Dir()); ok {
		t.Error("Running after Stop of adopted server")
	}
	if ok, err := s.Adopt(ctx); ok || err != nil {
		t.Errorf("Adopt of a stopped directory = %v, %v; want false, nil", ok, err)
	}
}

func TestStalePIDFile(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)

	// A pid that certainly belongs to no process any more.
	exited, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exited.Wait(); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	lock := strconv.Itoa(exited.Pid) + "\n" + dir + "\n1700000000\n" + strconv.Itoa(port) + "\n\n127.0.0.1\n  0  0\nready   \n"
	if err := os.WriteFile(filepath.Join(dir, pidFileName), []byte(lock), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := Running(dir); ok {
		t.Fatal("Running accepted a stale postmaster.pid")
	}

	s := NewServer(testBin, dir, nil)
	stopOnCleanup(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ok, err := s.Adopt(ctx); ok || err != nil {
		t.Fatalf("Adopt with a stale postmaster.pid = %v, %v; want false, nil", ok, err)
	}
	// postgres must be able to read the stale lock file to discard it.
	if acct, _ := serverAccount(); acct != nil {
		if err := acct.chown(filepath.Join(dir, pidFileName)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(ctx, port); err != nil {
		t.Fatalf("Start over a stale postmaster.pid: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if err := testBin.Validate(testTemplate); err != nil {
		t.Fatalf("Validate(template): %v", err)
	}

	missing := newDataDir(t)
	if err := os.Remove(filepath.Join(missing, "PG_VERSION")); err != nil {
		t.Fatal(err)
	}
	err := testBin.Validate(missing)
	if err == nil || !strings.Contains(err.Error(), "PG_VERSION is missing") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Validate without PG_VERSION: %v", err)
	}
	s := NewServer(testBin, missing, nil)
	stopOnCleanup(t, s)
	if err := s.Start(ctx, freePort(t)); err == nil || !strings.Contains(err.Error(), "PG_VERSION") {
		t.Errorf("Start on damaged directory: %v", err)
	}

	old := newDataDir(t)
	if err := os.WriteFile(filepath.Join(old, "PG_VERSION"), []byte("9.6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = testBin.Validate(old)
	if err == nil || !strings.Contains(err.Error(), "initialized by PostgreSQL 9") {
		t.Errorf("Validate with foreign PG_VERSION: %v", err)
	}

	if err := testBin.Validate(filepath.Join(testRoot, "nonexistent")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Validate of a missing directory: %v", err)
	}
}

func TestServerStopEscalates(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.quitGrace = 200 * time.Millisecond
	pid := s.PID()
	// A stopped postmaster ignores SIGINT and SIGQUIT until continued;
	// only SIGKILL gets rid of it.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "SIGKILL") {
		t.Fatalf("Stop of a hung server: %v", err)
	}
	if processAlive(pid) {
		t.Errorf("postgres pid %d alive after Stop", pid)
	}
	if s.PID() != 0 {
		t.Errorf("PID() = %d after Stop", s.PID())
	}
}
