package test

// End-to-end tests of distributed deadlock detection: two transaction
// blocks that wait for each other on different data nodes (each node sees
// only half of the cycle) must be broken by the detector on the Raft
// leader, which cancels the block that began last with SQLSTATE 40P01;
// a lock wait that is no cycle must be left alone.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// deadlockBound bounds how long the test waits for the detector; it runs
// every second and cancels a cycle seen in two rounds in a row.
const deadlockBound = 10 * time.Second

// deadlockSetup creates table name with rows 1..1000 (v = 0).
func deadlockSetup(t *testing.T, conn *pgx.Conn, name string) {
	t.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE TABLE " + name + " (id int PRIMARY KEY, v int NOT NULL)",
		"INSERT INTO " + name + " SELECT g, 0 FROM generate_series(1, 1000) g",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
}

// deadlockAdd adds n to row id inside conn's open block, with the key
// and increment inline (simple protocol) or as parameters (extended).
func deadlockAdd(ctx context.Context, conn *pgx.Conn, table string, id, n int, params bool) error {
	if params {
		_, err := conn.Exec(ctx, "UPDATE "+table+" SET v = v + $1 WHERE id = $2", n, id)
		return err
	}
	_, err := conn.Exec(ctx, fmt.Sprintf("UPDATE %s SET v = v + %d WHERE id = %d", table, n, id))
	return err
}

func deadlockValue(t *testing.T, conn *pgx.Conn, table string, id int) int {
	t.Helper()
	var v int
	if err := conn.QueryRow(context.Background(), "SELECT v FROM "+table+" WHERE id = $1", id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// deadlockCycle makes blocks A (on connA) and B (on connB, begun after A)
// deadlock across the data nodes holding keys a and b: A locks a, B locks
// b, then A waits for b while B waits for a. B, the younger, must fail
// with 40P01 and A must commit; only A's changes remain.
func deadlockCycle(t *testing.T, connA, connB, check *pgx.Conn, table string, a, b int, params bool) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []int{a, b} {
		if _, err := check.Exec(ctx, "UPDATE "+table+" SET v = 0 WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := connA.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := deadlockAdd(ctx, connA, table, a, 1, params); err != nil {
		t.Fatalf("A locks %d: %v", a, err)
	}
	if _, err := connB.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := deadlockAdd(ctx, connB, table, b, 10, params); err != nil {
		t.Fatalf("B locks %d: %v", b, err)
	}
	bound, cancel := context.WithTimeout(ctx, deadlockBound)
	defer cancel()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- deadlockAdd(bound, connA, table, b, 1, params) }()
	go func() { errB <- deadlockAdd(bound, connB, table, a, 10, params) }()
	// The victim fails first; the survivor goes on only once the victim
	// was rolled back, which must not wait for the victim's client.
	var gotA, gotB error
	select {
	case gotB = <-errB:
		gotA = <-errA
	case gotA = <-errA:
		gotB = <-errB
	}
	if bound.Err() != nil {
		t.Fatalf("the deadlock was not broken within %v (A: %v, B: %v)", deadlockBound, gotA, gotB)
	}
	switch {
	case sqlState(gotA) == "40P01" && gotB == nil:
		t.Fatalf("the older block A was cancelled instead of the younger B: %v", gotA)
	case sqlState(gotB) != "40P01":
		t.Fatalf("B (the younger block): %v (SQLSTATE %q), want SQLSTATE 40P01", gotB, sqlState(gotB))
	case gotA != nil:
		t.Fatalf("A (the older block) failed too: %v", gotA)
	}
	var pe *pgconn.PgError
	errors.As(gotB, &pe)
	if pe.Message != "deadlock detected" {
		t.Errorf("victim's message %q, want \"deadlock detected\"", pe.Message)
	}
	if !strings.Contains(pe.Detail, "waits on data node") {
		t.Errorf("victim's detail %q does not describe the cycle", pe.Detail)
	}
	// The victim's block is aborted until ROLLBACK, as in PostgreSQL.
	if _, err := connB.Exec(ctx, "SELECT 1"); sqlState(err) != "25P02" {
		t.Errorf("statement after the deadlock error: %v, want SQLSTATE 25P02", err)
	}
	if _, err := connB.Exec(ctx, "ROLLBACK TO SAVEPOINT nothing"); err == nil {
		t.Errorf("ROLLBACK TO SAVEPOINT in the victim's block succeeded")
	}
	if _, err := connB.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("victim's ROLLBACK: %v", err)
	}
	if _, err := connA.Exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("survivor's COMMIT: %v", err)
	}
	if va, vb := deadlockValue(t, check, table, a), deadlockValue(t, check, table, b); va != 1 || vb != 1 {
		t.Errorf("after the deadlock: row %d = %d, row %d = %d; want 1 and 1 (only A's changes)", a, va, b, vb)
	}
	// Both sessions work normally afterwards.
	for name, conn := range map[string]*pgx.Conn{"A": connA, "B": connB} {
		if _, err := conn.Exec(ctx, "SELECT count(*) FROM "+table); err != nil {
			t.Errorf("%s after the deadlock: %v", name, err)
		}
	}
}

func TestDistributedDeadlock(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 4})
	check := connect(t, c.ClientURL)
	deadlockSetup(t, check, "dl")
	a, b := keysOnNodes(t, c, "dl")

	for _, params := range []bool{false, true} {
		name := "SimpleProtocol"
		if params {
			name = "ExtendedProtocol"
		}
		t.Run(name, func(t *testing.T) {
			deadlockCycle(t, connect(t, c.ClientURL), connect(t, c.ClientURL), check, "dl", a, b, params)
		})
	}

	t.Run("LockWaitIsNotCancelled", func(t *testing.T) {
		// B waits for A on one node while holding a row on the other; A
		// commits after a few seconds (several detector rounds). That is
		// no cycle, so B must simply get the lock.
		ctx := context.Background()
		connA, connB := connect(t, c.ClientURL), connect(t, c.ClientURL)
		for _, id := range []int{a, b} {
			if _, err := check.Exec(ctx, "UPDATE dl SET v = 0 WHERE id = $1", id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := connA.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if err := deadlockAdd(ctx, connA, "dl", a, 1, false); err != nil {
			t.Fatal(err)
		}
		if _, err := connB.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if err := deadlockAdd(ctx, connB, "dl", b, 10, false); err != nil {
			t.Fatal(err)
		}
		errB := make(chan error, 1)
		go func() { errB <- deadlockAdd(ctx, connB, "dl", a, 10, false) }()
		time.Sleep(3 * time.Second)
		select {
		case err := <-errB:
			t.Fatalf("B's update did not wait for A's lock: %v", err)
		default:
		}
		if _, err := connA.Exec(ctx, "COMMIT"); err != nil {
			t.Fatalf("A's COMMIT: %v", err)
		}
		if err := <-errB; err != nil {
			t.Fatalf("B's update, which only waited for A: %v (SQLSTATE %q)", err, sqlState(err))
		}
		if _, err := connB.Exec(ctx, "COMMIT"); err != nil {
			t.Fatalf("B's COMMIT: %v", err)
		}
		if va, vb := deadlockValue(t, check, "dl", a), deadlockValue(t, check, "dl", b); va != 11 || vb != 10 {
			t.Errorf("row %d = %d, row %d = %d; want 11 and 10", a, va, b, vb)
		}
	})
}

// TestDeadlockAcrossCoordinators runs the two blocks on two different
// coordinators of a group, neither of them the Raft leader: the detector
// on the leader collects their backends and cancels the victim through
// the victim's coordinator.
func TestDeadlockAcrossCoordinators(t *testing.T) {
	g := harness.StartGroup(t, harness.GroupOptions{Nodes: 2, Coordinators: 3, Shards: 4})
	leader := g.Leader(t)
	first, second := (leader+1)%3, (leader+2)%3
	ctx := context.Background()
	open := func(i int) *pgx.Conn {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, g.URL(i))
		if err != nil {
			t.Fatalf("connect to coordinator %d: %v", i, err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return conn
	}
	check := open(first)
	deadlockSetup(t, check, "dlg")
	v := g.Coords[first].Store.Snapshot().Version()
	for i := range g.Coords {
		waitCatalog(t, g.Coords[i], v)
	}
	a, b := keysOnNodes(t, &cluster.Cluster{Coordinator: g.Coords[first]}, "dlg")
	deadlockCycle(t, open(first), open(second), check, "dlg", a, b, false)
}
