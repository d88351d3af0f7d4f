package test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// crashCoordinator is a `distgres coordinator` process.
type crashCoordinator struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *upBuffer
}

func startCrashCoordinator(t *testing.T, bin, dir, listen, raftAddr string, data *cluster.DataNodes, failpoint string, extra ...string) *crashCoordinator {
	t.Helper()
	args := []string{"coordinator", "--id", "coord1", "--data", filepath.Join(dir, "coord1"),
		"--listen", listen, "--raft-addr", raftAddr, "--shards", "4"}
	args = append(args, extra...)
	for _, a := range data.Addrs() {
		args = append(args, "--node", fmt.Sprintf("%s=%s:%d", a.Name, a.Host, a.Port))
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), gtm.FailpointEnv+"="+failpoint)
	var stderr upBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashCoordinator{cmd: cmd, done: make(chan error, 1), stderr: &stderr}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), " ready: ") && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("coordinator exited before it was ready:\n%s", stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("coordinator not ready after a minute:\n%s", stderr.String())
	}
	return p
}

// waitCrash waits for the process to exit at its failpoint.
func (p *crashCoordinator) waitCrash(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("coordinator exit: %v, want status 3 from the failpoint", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("coordinator did not exit at its failpoint")
	}
}

func (p *crashCoordinator) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("coordinator did not stop")
	}
}

// nodeCount sums a count query over every data node's database db.
func nodeCount(t *testing.T, data *cluster.DataNodes, db, sql string) int64 {
	t.Helper()
	ctx := context.Background()
	var total int64
	for _, s := range data.Servers {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port(), db))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		err = conn.QueryRow(ctx, sql).Scan(&n)
		conn.Close(ctx)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		total += n
	}
	return total
}

const preparedCount = "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'distgres\\_%'"

// waitRecovered waits until no data node holds a distgres prepared
// transaction.
func waitRecovered(t *testing.T, data *cluster.DataNodes) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for nodeCount(t, data, "postgres", preparedCount) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("prepared transactions left on the data nodes after recovery")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDDLCrashRecovery kills the coordinator process between the steps of
// DDL statements (a failpoint makes it exit at the exact step) and checks
// that after a restart the catalog and the data nodes agree.
func TestDDLCrashRecovery(t *testing.T) {
	bin := upBuild(t)
	dir, data := harness.StartDataNodes(t, 2)
	listen, raftAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	url := "postgres://postgres@" + listen + "/postgres?sslmode=disable"
	shardTables := func(prefix string) int64 {
		return nodeCount(t, data, cluster.ShardDatabase, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '"+prefix+"\\_%'")
	}
	shellTables := func(name string) int64 {
		return nodeCount(t, data, "postgres", "SELECT count(*) FROM pg_tables WHERE tablename = '"+name+"'")
	}
	crashAt := func(step, sql string) {
		t.Helper()
		p := startCrashCoordinator(t, bin, dir, listen, raftAddr, data, step)
		if err := groupExec(url, sql); err == nil {
			t.Fatalf("%s: succeeded although the coordinator exits at %q", sql, step)
		}
		p.waitCrash(t)
		t.Logf("crashed at %q during %s; prepared transactions left on the nodes: %d", step, sql, nodeCount(t, data, "postgres", preparedCount))
	}
	restart := func() *crashCoordinator {
		t.Helper()
		p := startCrashCoordinator(t, bin, dir, listen, raftAddr, data, "")
		waitRecovered(t, data)
		return p
	}

	// Before any node work: the catalog already holds the new table (its
	// shard IDs), which recovery takes back.
	crashAt("begun", "CREATE TABLE crash_begun (id int PRIMARY KEY)")
	p := restart()
	if err := groupExec(url, "SELECT * FROM crash_begun"); sqlState(err) != "42P01" {
		t.Errorf("table of a CREATE that crashed before its node work: %v, want 42P01", err)
	}
	if n := shardTables("crash_begun"); n != 0 {
		t.Errorf("%d shard tables of crash_begun exist", n)
	}
	p.stop(t)

	// Prepared everywhere, no decision: rolled back.
	crashAt("prepared", "CREATE TABLE crash_a (id int PRIMARY KEY, v text)")
	if n := nodeCount(t, data, "postgres", preparedCount); n == 0 {
		t.Fatalf("no prepared transactions on the nodes after a crash at 'prepared'")
	}
	p = restart()
	if err := groupExec(url, "SELECT * FROM crash_a"); sqlState(err) != "42P01" {
		t.Errorf("table of a rolled back CREATE: %v, want 42P01", err)
	}
	if n := shardTables("crash_a") + shellTables("crash_a"); n != 0 {
		t.Errorf("%d tables of the rolled back crash_a exist on the nodes", n)
	}
	// The catalog agrees: the name is free.
	if err := groupExec(url, "CREATE TABLE crash_a (id int PRIMARY KEY, v text)", "DROP TABLE crash_a"); err != nil {
		t.Errorf("re-creating crash_a: %v", err)
	}
	p.stop(t)

	// Decision logged, COMMIT PREPARED not sent: committed by recovery.
	crashAt("decided", "CREATE TABLE crash_b (id int PRIMARY KEY, v text)")
	p = restart()
	if n := shardTables("crash_b"); n != 4 {
		t.Errorf("crash_b has %d shard tables after recovery, want 4", n)
	}
	if n := shellTables("crash_b"); n != 2 {
		t.Errorf("crash_b is in %d shell databases, want 2", n)
	}
	if err := groupExec(url, "INSERT INTO crash_b SELECT g, 'v' FROM generate_series(1, 100) g"); err != nil {
		t.Fatal(err)
	}
	p.stop(t)

	// A DROP that crashed after preparing leaves the table and its rows.
	crashAt("prepared", "DROP TABLE crash_b")
	p = restart()
	if n := groupQueryInt(t, url, "SELECT count(*) FROM crash_b"); n != 100 {
		t.Errorf("crash_b after a rolled back DROP: %d rows, want 100", n)
	}
	// And one that crashed after its decision is dropped everywhere.
	p.stop(t)
	crashAt("decided", "DROP TABLE crash_b")
	p = restart()
	if err := groupExec(url, "SELECT * FROM crash_b"); sqlState(err) != "42P01" {
		t.Errorf("table of a committed DROP: %v, want 42P01", err)
	}
	if n := shardTables("crash_b") + shellTables("crash_b"); n != 0 {
		t.Errorf("%d tables of the dropped crash_b remain on the nodes", n)
	}
	if n := groupQueryInt(t, url, "SELECT distgres_recover_transactions()"); n != 0 {
		t.Errorf("distgres_recover_transactions() found %d more to resolve", n)
	}
	p.stop(t)
}
