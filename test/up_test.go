package test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file runs the real `distgres up` binary as a subprocess.

// upBuffer is a goroutine-safe output buffer.
type upBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *upBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *upBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// upProc is a running `distgres up`.
type upProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout upBuffer
	stderr upBuffer
	done   chan struct{}
	state  *os.ProcessState
}

// upBuild builds the distgres binary into a temporary directory.
func upBuild(t *testing.T) string {
	t.Helper()
	out, err := os.MkdirTemp("", "distgres-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	bin := filepath.Join(out, "distgres")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/distgres")
	cmd.Dir = ".." // the module root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/distgres: %v\n%s", err, b)
	}
	return bin
}

func upFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// upStart starts `distgres up --dir dir --port port args...`.
func upStart(t *testing.T, bin, dir string, port int, env []string, args ...string) *upProc {
	t.Helper()
	p := &upProc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"up", "--dir", dir, "--port", strconv.Itoa(port)}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting distgres: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *upProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits for the coordinator line and returns stdout's lines.
func (p *upProc) waitReady() []string {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second) // upper bound against hangs
	for time.Now().Before(deadline) {
		out := p.stdout.String()
		if strings.Contains(out, "coordinator: ") && strings.HasSuffix(out, "\n") {
			return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		if p.exited() {
			p.t.Fatalf("distgres exited (%v) before serving:\nstdout:\n%s\nstderr:\n%s", p.state, out, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("distgres did not print the coordinator URL:\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	return nil
}

// wait waits for the process to exit and returns its exit code (-1 when
// killed by a signal).
func (p *upProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(90 * time.Second): // upper bound against hangs
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.t.Fatalf("distgres did not exit; killed it\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
	}
	return p.state.ExitCode()
}

func (p *upProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// upNoStackTrace fails if stderr looks like a Go panic.
func upNoStackTrace(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("distgres printed a Go stack trace:\n%s", stderr)
	}
}

// upRunFail runs distgres, which must fail: exit code 1, exactly one
// non-empty stderr line and no stack trace. It returns that line.
func upRunFail(t *testing.T, bin, dir string, port int, env []string, args ...string) string {
	t.Helper()
	p := upStart(t, bin, dir, port, env, args...)
	code := p.wait()
	stderr := p.stderr.String()
	if code != 1 {
		t.Errorf("exit code %d; want 1", code)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("distgres printed a Go stack trace:\n%s", stderr)
		return ""
	}
	line := strings.TrimSuffix(stderr, "\n")
	if line == "" || strings.Contains(line, "\n") {
		t.Errorf("stderr is not exactly one line:\n%s", stderr)
	}
	if strings.Contains(p.stdout.String(), "coordinator:") {
		t.Errorf("a failed start printed a coordinator URL:\n%s", p.stdout.String())
	}
	t.Logf("stderr: %s", line)
	return line
}

// upNodeDirs lists DIR/node* directories.
func upNodeDirs(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "node*"))
	return m
}

// upPostmaster returns the pid of the postmaster running on nodeDir
// according to its postmaster.pid, and whether that process is alive and
// really runs on nodeDir.
func upPostmaster(nodeDir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(nodeDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, upPostgresAlive(pid, nodeDir)
}

// upPostgresAlive reports whether pid is a live postgres on nodeDir (a
// zombie has an empty command line).
func upPostgresAlive(pid int, nodeDir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(nodeDir))
}

// upRunningNodes lists the data node directories with a live postmaster.
func upRunningNodes(dir string) []string {
	var out []string
	for _, nd := range upNodeDirs(dir) {
		if _, ok := upPostmaster(nd); ok {
			out = append(out, filepath.Base(nd))
		}
	}
	return out
}

// upKillLeftovers stops postmasters left running on dir (immediate
// shutdown, then SIGKILL).
func upKillLeftovers(t *testing.T, dir string) {
	for _, nd := range upNodeDirs(dir) {
		pid, ok := upPostmaster(nd)
		if !ok {
			continue
		}
		t.Logf("stopping leftover postgres pid %d on %s", pid, nd)
		syscall.Kill(pid, syscall.SIGQUIT)
		for i := 0; i < 100 && upPostgresAlive(pid, nd); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if upPostgresAlive(pid, nd) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// upCheckNoPostgres fails if a postmaster runs on dir, and stops it.
func upCheckNoPostgres(t *testing.T, dir string) {
	t.Helper()
	if running := upRunningNodes(dir); len(running) > 0 {
		t.Errorf("postgres is still running for %v", running)
		upKillLeftovers(t, dir)
	}
}

// upCheckLines checks the data node and coordinator lines and returns the
// coordinator URL and the data node URLs.
func upCheckLines(t *testing.T, lines []string, nodes, port int) (string, []string) {
	t.Helper()
	if len(lines) != nodes+1 {
		t.Fatalf("distgres printed %d lines; want %d data node lines and the coordinator line:\n%s", len(lines), nodes, strings.Join(lines, "\n"))
	}
	var nodeURLs []string
	for i := 0; i < nodes; i++ {
		prefix := fmt.Sprintf("data node node%d: postgres://", i+1)
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d = %q; want %q...", i+1, lines[i], prefix)
		}
		_, u, _ := strings.Cut(lines[i], ": ")
		nodeURLs = append(nodeURLs, u)
	}
	want := fmt.Sprintf("coordinator: postgres://postgres@127.0.0.1:%d/postgres", port)
	if lines[nodes] != want {
		t.Errorf("last line = %q; want %q", lines[nodes], want)
	}
	_, coord, _ := strings.Cut(lines[nodes], ": ")
	return coord, nodeURLs
}

func upConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url+"?sslmode=disable")
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// upCheckRows checks that table up_t holds k = 1..n with v = 'v' || k.
func upCheckRows(t *testing.T, coord string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := upConnect(t, coord)
	rows, err := conn.Query(ctx, "SELECT k, v FROM up_t ORDER BY k")
	if err != nil {
		t.Fatalf("reading up_t: %v", err)
	}
	type kv struct {
		K int64
		V string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[kv])
	if err != nil {
		t.Fatalf("reading up_t: %v", err)
	}
	if len(got) != n {
		t.Fatalf("up_t has %d rows; want %d", len(got), n)
	}
	for i, r := range got {
		if r.K != int64(i+1) || r.V != fmt.Sprintf("v%d", i+1) {
			t.Fatalf("row %d = %+v; want {%d v%d}", i, r, i+1, i+1)
		}
	}
}

func upInsert(t *testing.T, coord string, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := upConnect(t, coord)
	var values []string
	for k := from; k <= to; k++ {
		values = append(values, fmt.Sprintf("(%d, 'v%d')", k, k))
	}
	if _, err := conn.Exec(ctx, "INSERT INTO up_t (k, v) VALUES "+strings.Join(values, ", ")); err != nil {
		t.Fatalf("insert: %v", err)
	}
}

// upStopClean sends SIGTERM and checks a clean exit with every data node
// stopped.
func upStopClean(t *testing.T, p *upProc, dir string) {
	t.Helper()
	pids := map[string]int{}
	for _, nd := range upNodeDirs(dir) {
		if pid, ok := upPostmaster(nd); ok {
			pids[nd] = pid
		}
	}
	p.signal(syscall.SIGTERM)
	code := p.wait()
	upNoStackTrace(t, p.stderr.String())
	if code != 0 {
		t.Errorf("exit code after SIGTERM = %d; want 0\nstderr:\n%s", code, p.stderr.String())
	}
	for _, nd := range upNodeDirs(dir) {
		if _, err := os.Stat(filepath.Join(nd, "postmaster.pid")); err == nil {
			t.Errorf("%s/postmaster.pid still exists after distgres stopped", nd)
		}
	}
	for nd, pid := range pids {
		if upPostgresAlive(pid, nd) {
			t.Errorf("postgres pid %d on %s still runs after distgres stopped", pid, nd)
		}
	}
	upKillLeftovers(t, dir)
}

func TestUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the distgres binary")
	}
	bin := upBuild(t)
	base, err := os.MkdirTemp("", "distgres-up-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755) // the postgres OS user must reach the data directories
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "cluster")
	t.Cleanup(func() { upKillLeftovers(t, dir) }) // runs before RemoveAll
	port := upFreePort(t)
	const nodes = 3
	var coord string

	t.Run("StartPrintsURLs", func(t *testing.T) {
		p := upStart(t, bin, dir, port, nil, "--nodes", strconv.Itoa(nodes), "--shards", "6")
		lines := p.waitReady()
		var nodeURLs []string
		coord, nodeURLs = upCheckLines(t, lines, nodes, port)
		for _, u := range nodeURLs {
			conn := upConnect(t, u)
			var one int
			if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
				t.Errorf("data node %s: %v", u, err)
			}
		}
		for _, f := range []string{"cluster.json", "coord1/raft.db", "node1/PG_VERSION", "node3/PG_VERSION"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("cluster directory: %v", err)
			}
		}
		conn := upConnect(t, coord)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "CREATE TABLE up_t (k bigint PRIMARY KEY, v text) DISTRIBUTE BY HASH(k)"); err != nil {
			t.Fatalf("create table: %v", err)
		}
		upInsert(t, coord, 1, 50)
		upCheckRows(t, coord, 50)
		t.Run("SIGTERMStopsCleanly", func(t *testing.T) {
			upStopClean(t, p, dir)
			// The coordinator port is free again.
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Errorf("coordinator port %d still in use after exit: %v", port, err)
			} else {
				l.Close()
			}
		})
	})
	if t.Failed() {
		t.FailNow()
	}

	var running *upProc
	top := t
	t.Run("RestartKeepsData", func(t *testing.T) {
		// Owned by the top-level test: it keeps running for the next
		// subtest.
		p := upStart(top, bin, dir, port, nil)
		p.t = t
		coord, _ = upCheckLines(t, p.waitReady(), nodes, port)
		upCheckRows(t, coord, 50)
		upInsert(t, coord, 51, 60)
		upCheckRows(t, coord, 60)
		running = p
	})

	t.Run("KillNineThenTakeOver", func(t *testing.T) {
		if running == nil {
			t.Skip("no running distgres")
		}
		running.t = t
		pids := map[string]int{}
		for _, nd := range upNodeDirs(dir) {
			if pid, ok := upPostmaster(nd); ok {
				pids[nd] = pid
			}
		}
		running.signal(syscall.SIGKILL)
		running.wait()
		if len(pids) != nodes {
			t.Logf("only %d data nodes were running before kill -9", len(pids))
		}
		if left := upRunningNodes(dir); len(left) != nodes {
			t.Logf("data nodes left running after kill -9 of distgres: %v", left)
		}
		p := upStart(t, bin, dir, port, nil)
		coord, _ = upCheckLines(t, p.waitReady(), nodes, port)
		upCheckRows(t, coord, 60)
		upInsert(t, coord, 61, 70)
		upCheckRows(t, coord, 70)
		// Each node runs exactly once: adopted (same pid) or restarted
		// (the old postmaster gone).
		for nd, old := range pids {
			cur, ok := upPostmaster(nd)
			if !ok {
				t.Errorf("%s is not running after the takeover", nd)
			} else if cur != old && upPostgresAlive(old, nd) {
				t.Errorf("%s: the old postmaster %d still runs next to the new one %d", nd, old, cur)
			} else {
				t.Logf("%s: postmaster %d before, %d after the takeover", filepath.Base(nd), old, cur)
			}
		}
		upStopClean(t, p, dir)
	})

	t.Run("Errors", func(t *testing.T) {
		t.Run("NoPostgresBinaries", func(t *testing.T) {
			empty := filepath.Join(base, "empty-bin")
			if err := os.Mkdir(empty, 0o755); err != nil {
				t.Fatal(err)
			}
			fresh := filepath.Join(base, "fresh")
			line := upRunFail(t, bin, fresh, upFreePort(t), []string{"DISTGRES_PG_BINDIR=" + empty})
			if low := strings.ToLower(line); line != "" && (!strings.Contains(low, "postgresql") || !strings.Contains(low, "binar")) {
				t.Errorf("stderr %q does not mention the PostgreSQL binaries", line)
			}
			upCheckNoPostgres(t, fresh)
		})
		t.Run("PortInUse", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			busy := l.Addr().(*net.TCPAddr).Port
			line := upRunFail(t, bin, dir, busy, nil)
			if want := fmt.Sprintf("port %d is already in use", busy); line != "" && !strings.Contains(line, want) {
				t.Errorf("stderr %q; want %q", line, want)
			}
			upCheckNoPostgres(t, dir)
		})
		t.Run("DirIsAFile", func(t *testing.T) {
			file := filepath.Join(base, "a-file")
			if err := os.WriteFile(file, []byte("not a directory\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			upRunFail(t, bin, file, upFreePort(t), nil)
		})
		for _, f := range []string{"cluster.json", "coord1/raft.db"} {
			t.Run("Garbage_"+strings.ReplaceAll(f, "/", "_"), func(t *testing.T) {
				path := filepath.Join(dir, f)
				orig, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				defer os.WriteFile(path, orig, fi.Mode().Perm())
				if err := os.WriteFile(path, []byte("{garbage\x00\xff"), 0o600); err != nil {
					t.Fatal(err)
				}
				line := upRunFail(t, bin, dir, upFreePort(t), nil)
				if line != "" && !strings.Contains(line, f) && !strings.Contains(strings.ToLower(line), "damaged") {
					t.Errorf("stderr %q names neither %s nor a damaged directory", line, f)
				}
				upCheckNoPostgres(t, dir)
			})
		}
		t.Run("StillStartsAfterRepair", func(t *testing.T) {
			p := upStart(t, bin, dir, port, nil)
			coord, _ = upCheckLines(t, p.waitReady(), nodes, port)
			upCheckRows(t, coord, 70)
			upStopClean(t, p, dir)
		})
		t.Run("MissingNodeDirectory", func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "node2")); err != nil {
				t.Fatal(err)
			}
			line := upRunFail(t, bin, dir, upFreePort(t), nil)
			if line != "" && !strings.Contains(line, "node2") {
				t.Errorf("stderr %q does not name the missing node2", line)
			}
			upCheckNoPostgres(t, dir)
		})
	})
}
