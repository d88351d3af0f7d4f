package test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// keysOnNodes returns, for an int4 hash table, one key from 1..1000
// stored on each of the first two nodes.
func keysOnNodes(t *testing.T, c *cluster.Cluster, table string) (int, int) {
	t.Helper()
	snap := c.Catalog().Snapshot()
	tbl, ok := snap.Table("public", table)
	if !ok {
		t.Fatalf("table %s not in the catalog", table)
	}
	nodes := snap.Nodes()
	key := map[catalog.NodeID]int{}
	for k := 1; k <= 1000; k++ {
		sh := tbl.Shards[tbl.ShardIndexForHash(catalog.HashInt4(int32(k)))]
		if _, ok := key[sh.Placements[0]]; !ok {
			key[sh.Placements[0]] = k
		}
	}
	a, okA := key[nodes[0].ID]
	b, okB := key[nodes[1].ID]
	if !okA || !okB {
		t.Fatalf("no keys on both nodes: %v", key)
	}
	return a, b
}

// nodeLog reads what data node i logged since offset.
type nodeLog struct {
	c      *cluster.Cluster
	offset []int64
}

func newNodeLog(t *testing.T, c *cluster.Cluster) *nodeLog {
	t.Helper()
	ctx := context.Background()
	for i := range c.Nodes {
		conn, err := pgx.Connect(ctx, harness.URL(c.NodeURL(i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range []string{"ALTER SYSTEM SET log_statement = 'all'", "SELECT pg_reload_conf()"} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		conn.Close(ctx)
	}
	time.Sleep(200 * time.Millisecond) // the reload is asynchronous
	l := &nodeLog{c: c}
	l.mark()
	return l
}

func (l *nodeLog) mark() {
	l.offset = l.offset[:0]
	for _, n := range l.c.Nodes {
		fi, _ := os.Stat(n.LogPath())
		var size int64
		if fi != nil {
			size = fi.Size()
		}
		l.offset = append(l.offset, size)
	}
}

// since returns each node's log lines written since the last mark.
func (l *nodeLog) since(t *testing.T) []string {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // let the servers flush their logs
	var out []string
	for i, n := range l.c.Nodes {
		data, err := os.ReadFile(n.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data[min(l.offset[i], int64(len(data))):]))
	}
	l.mark()
	return out
}

// TestTwoPhaseCommit checks which commits take the two-phase path, by the
// statements the data nodes saw, and that a participant's refusal to
// prepare rolls back every node.
func TestTwoPhaseCommit(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 4})
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	for _, sql := range []string{
		"CREATE TABLE tpc (id int PRIMARY KEY, bal int NOT NULL)",
		"INSERT INTO tpc SELECT g, 100 FROM generate_series(1, 1000) g",
		"CREATE TABLE tpc_deferred (id int, v int, UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	a, b := keysOnNodes(t, c, "tpc")
	logs := newNodeLog(t, c)
	exec := func(sqls ...string) error {
		t.Helper()
		for _, sql := range sqls {
			if _, err := conn.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	}
	count := func(logs []string, what string) int {
		n := 0
		for _, l := range logs {
			n += strings.Count(l, what)
		}
		return n
	}
	balance := func(id int) int {
		t.Helper()
		var v int
		if err := conn.QueryRow(ctx, "SELECT bal FROM tpc WHERE id = $1", id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	sum := func() int {
		t.Helper()
		var v int
		if err := conn.QueryRow(ctx, "SELECT sum(bal)::int FROM tpc").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("OneNodeWrittenCommitsPlainly", func(t *testing.T) {
		logs.mark()
		if err := exec("BEGIN", "UPDATE tpc SET bal = bal + 1 WHERE id = "+itoa(a), "SELECT bal FROM tpc WHERE id = "+itoa(b), "COMMIT"); err != nil {
			t.Fatal(err)
		}
		l := logs.since(t)
		if n := count(l, "PREPARE TRANSACTION"); n != 0 {
			t.Errorf("a commit that wrote on one node sent %d PREPARE TRANSACTION", n)
		}
		if !strings.Contains(l[0], "COMMIT") || !strings.Contains(l[1], "COMMIT") {
			t.Errorf("both members should have seen a plain COMMIT")
		}
		if balance(a) != 101 {
			t.Errorf("balance %d, want 101", balance(a))
		}
	})

	t.Run("TwoNodesWrittenUseTwoPhaseCommit", func(t *testing.T) {
		logs.mark()
		if err := exec("BEGIN", "UPDATE tpc SET bal = bal - 10 WHERE id = "+itoa(a), "UPDATE tpc SET bal = bal + 10 WHERE id = "+itoa(b), "COMMIT"); err != nil {
			t.Fatal(err)
		}
		l := logs.since(t)
		for i := range l {
			if strings.Count(l[i], "PREPARE TRANSACTION 'distgres_") != 1 || strings.Count(l[i], "COMMIT PREPARED 'distgres_") != 1 {
				t.Errorf("node %d did not see one PREPARE TRANSACTION and one COMMIT PREPARED:\n%s", i+1, l[i])
			}
		}
		if got := sum(); got != 100001 {
			t.Errorf("sum %d, want 100001", got)
		}
		if n := nodeCount(t, &cluster.DataNodes{Servers: c.Nodes}, "postgres", preparedCount); n != 0 {
			t.Errorf("%d prepared transactions left", n)
		}
	})

	t.Run("ImplicitMultiNodeWrite", func(t *testing.T) {
		logs.mark()
		if err := exec("UPDATE tpc SET bal = bal + 1"); err != nil {
			t.Fatal(err)
		}
		if n := count(logs.since(t), "COMMIT PREPARED 'distgres_"); n != 2 {
			t.Errorf("multi-node UPDATE outside a block: %d COMMIT PREPARED, want 2", n)
		}
		if got := sum(); got != 101001 {
			t.Errorf("sum %d, want 101001", got)
		}
	})

	t.Run("RefusalToPrepareRollsBackEverywhere", func(t *testing.T) {
		if err := exec("INSERT INTO tpc_deferred VALUES (" + itoa(a) + ", 1)"); err != nil {
			t.Fatal(err)
		}
		// The duplicate on node A is only found when A prepares; the
		// row on node B must not survive it.
		err := exec("BEGIN", "INSERT INTO tpc_deferred VALUES ("+itoa(b)+", 2)", "INSERT INTO tpc_deferred VALUES ("+itoa(a)+", 3)", "COMMIT")
		if sqlState(err) != "23505" {
			t.Fatalf("COMMIT with a deferred unique violation: %v, want 23505", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM tpc_deferred").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d rows after the failed commit, want 1", n)
		}
	})

	t.Run("SavepointsAcrossNodes", func(t *testing.T) {
		before := sum()
		if err := exec("BEGIN", "UPDATE tpc SET bal = bal + 5 WHERE id = "+itoa(a), "SAVEPOINT s1",
			"UPDATE tpc SET bal = bal + 7 WHERE id = "+itoa(b), "ROLLBACK TO SAVEPOINT s1",
			"UPDATE tpc SET bal = bal + 3 WHERE id = "+itoa(b), "RELEASE SAVEPOINT s1", "COMMIT"); err != nil {
			t.Fatal(err)
		}
		if got := sum(); got != before+8 {
			t.Errorf("sum %d, want %d", got, before+8)
		}
	})

	t.Run("AbortedBlock", func(t *testing.T) {
		before := sum()
		if err := exec("BEGIN", "UPDATE tpc SET bal = bal + 1000 WHERE id = "+itoa(a)); err != nil {
			t.Fatal(err)
		}
		if err := exec("SELECT 1/0"); sqlState(err) != "22012" {
			t.Fatalf("division by zero: %v", err)
		}
		if err := exec("UPDATE tpc SET bal = 0 WHERE id = " + itoa(b)); sqlState(err) != "25P02" {
			t.Fatalf("statement in a failed block: %v, want 25P02", err)
		}
		var tag string
		ct, err := conn.Exec(ctx, "COMMIT")
		if err != nil {
			t.Fatal(err)
		}
		tag = ct.String()
		if tag != "ROLLBACK" {
			t.Errorf("COMMIT of a failed block: tag %q, want ROLLBACK", tag)
		}
		if got := sum(); got != before {
			t.Errorf("sum %d after a failed block, want %d", got, before)
		}
	})

	t.Run("ReadOnlyAndIsolation", func(t *testing.T) {
		if err := exec("BEGIN READ ONLY"); err != nil {
			t.Fatal(err)
		}
		err := exec("UPDATE tpc SET bal = 0 WHERE id = " + itoa(a))
		exec("ROLLBACK")
		if sqlState(err) != "25006" {
			t.Fatalf("write in a read-only block: %v, want 25006", err)
		}
		if err := exec("BEGIN", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
			t.Fatal(err)
		}
		var level string
		if err := conn.QueryRow(ctx, "SHOW transaction_isolation").Scan(&level); err != nil {
			t.Fatal(err)
		}
		var bal int
		if err := conn.QueryRow(ctx, "SELECT bal FROM tpc WHERE id = $1", b).Scan(&bal); err != nil {
			t.Fatal(err)
		}
		if level != "repeatable read" {
			t.Errorf("transaction_isolation = %q", level)
		}
		// A snapshot taken in the block does not see a later commit
		// from another session on that node.
		other := connect(t, c.ClientURL)
		if _, err := other.Exec(ctx, "UPDATE tpc SET bal = bal + 1 WHERE id = $1", b); err != nil {
			t.Fatal(err)
		}
		var again int
		if err := conn.QueryRow(ctx, "SELECT bal FROM tpc WHERE id = $1", b).Scan(&again); err != nil {
			t.Fatal(err)
		}
		exec("COMMIT")
		if again != bal {
			t.Errorf("repeatable read saw %d then %d", bal, again)
		}
	})
}
