package test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/planner"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const crashRows = 90

// crashKeysByNode reads every shard of table cr directly from the data
// nodes and returns the keys each node (by index in c.Nodes) holds.
func crashKeysByNode(t *testing.T, c *cluster.Cluster) map[int][]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap := c.Catalog().Snapshot()
	tbl, ok := snap.Table("public", "cr")
	if !ok {
		t.Fatal("table cr is not in the catalog")
	}
	out := map[int][]int64{}
	for _, sh := range tbl.Shards {
		for _, id := range sh.Placements {
			i := crashNodeIndex(t, c, id)
			conn, err := pgx.Connect(ctx, harness.URL(c.ShardURL(i)))
			if err != nil {
				t.Fatalf("connect to data node %s: %v", c.Names[i], err)
			}
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT k FROM public.%s", pgx.Identifier{planner.ShardTableName(tbl, sh)}.Sanitize()))
			if err != nil {
				conn.Close(ctx)
				t.Fatalf("reading shard %d on %s: %v", sh.ID, c.Names[i], err)
			}
			keys, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			conn.Close(ctx)
			if err != nil {
				t.Fatalf("reading shard %d on %s: %v", sh.ID, c.Names[i], err)
			}
			out[i] = append(out[i], keys...)
		}
	}
	return out
}

func crashNodeIndex(t *testing.T, c *cluster.Cluster, id catalog.NodeID) int {
	t.Helper()
	n, ok := c.Catalog().Snapshot().Node(id)
	if !ok {
		t.Fatalf("node %d is not in the catalog", id)
	}
	for i, name := range c.Names {
		if name == n.Name {
			return i
		}
	}
	t.Fatalf("node %s is not in the cluster", n.Name)
	return -1
}

// crashNodeOfKey is the index of the node holding key k of table cr
// (computed from the catalog, independently of the coordinator).
func crashNodeOfKey(t *testing.T, c *cluster.Cluster, k int64) int {
	t.Helper()
	tbl, _ := c.Catalog().Snapshot().Table("public", "cr")
	h, err := catalog.HashDatum(tbl.DistType, strconv.FormatInt(k, 10))
	if err != nil {
		t.Fatal(err)
	}
	idx := tbl.ShardIndexForHash(h)
	if idx < 0 {
		t.Fatalf("no shard for key %d", k)
	}
	return crashNodeIndex(t, c, tbl.Shards[idx].Placements[0])
}

// crashCheckDownError asserts err reports the unavailable data node.
func crashCheckDownError(t *testing.T, what string, err error, node string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s with data node %s down: no error", what, node)
		return
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Errorf("%s with data node %s down: %v; want a server error (SQLSTATE class 08 or 57P0x)", what, node, err)
		return
	}
	if !strings.HasPrefix(pe.Code, "08") && !strings.HasPrefix(pe.Code, "57P0") {
		t.Errorf("%s with data node %s down: SQLSTATE %s (%s); want class 08 or 57P0x", what, node, pe.Code, pe.Message)
	}
	if pe.Severity != "ERROR" {
		// The client session survives a data node failure.
		t.Errorf("%s with data node %s down: severity %s; want ERROR", what, node, pe.Severity)
	}
	if !strings.Contains(pe.Message, node) {
		t.Errorf("%s with data node %s down: message %q does not name the node", what, node, pe.Message)
	}
	t.Logf("%s: %s %s: %s", what, pe.Severity, pe.Code, pe.Message)
}

func crashPoint(ctx context.Context, conn *pgx.Conn, k int64) (string, error) {
	var v string
	err := conn.QueryRow(ctx, "SELECT v FROM cr WHERE k = $1", k).Scan(&v)
	return v, err
}

func TestCrashDataNode(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	// Upper bound against hangs for the whole test.
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	conn := biConnect(t, c.ClientURL)
	other := biConnect(t, c.ClientURL)
	if _, err := conn.Exec(ctx, "CREATE TABLE cr (k bigint PRIMARY KEY, v text) DISTRIBUTE BY HASH(k)"); err != nil {
		t.Fatal(err)
	}
	var values []string
	for k := 1; k <= crashRows; k++ {
		values = append(values, fmt.Sprintf("(%d, 'v%d')", k, k))
	}
	if _, err := conn.Exec(ctx, "INSERT INTO cr (k, v) VALUES "+strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}
	byNode := crashKeysByNode(t, c)
	total := 0
	for i := range c.Nodes {
		if len(byNode[i]) == 0 {
			t.Fatalf("data node %s holds no rows of cr; the test needs rows on every node (%v)", c.Names[i], byNode)
		}
		total += len(byNode[i])
	}
	if total != crashRows {
		t.Fatalf("the data nodes hold %d rows; want %d", total, crashRows)
	}
	// Both sessions use every node before the crash, so that pooled
	// connections to the victim exist.
	for _, s := range []*pgx.Conn{conn, other} {
		var n int64
		if err := s.QueryRow(ctx, "SELECT count(*) FROM cr").Scan(&n); err != nil || n != crashRows {
			t.Fatalf("count before the crash = %d, %v", n, err)
		}
	}

	// Node 1 (not the first node, which also answers catalog queries)
	// goes down.
	const victim = 1
	name := c.Names[victim]
	port := c.Nodes[victim].Port()
	if err := c.Nodes[victim].Stop(ctx); err != nil {
		t.Fatalf("stopping data node %s: %v", name, err)
	}
	healthy := []int{0, 2}

	// The coordinator session must survive the failure: an error sent
	// with severity FATAL makes the client drop its connection. A dropped
	// session is reported and replaced so that the later checks test the
	// cluster, not the dead connection.
	top := t
	revive := func(t *testing.T, s **pgx.Conn) {
		t.Helper()
		if (*s).IsClosed() {
			t.Errorf("the client session was closed after data node %s went down; want an ERROR and the session kept", name)
			*s = biConnect(top, c.ClientURL)
		}
	}

	t.Run("ScatterQueryFails", func(t *testing.T) {
		for round := 0; round < 2; round++ {
			for _, s := range []**pgx.Conn{&conn, &other} {
				_, err := (*s).Exec(ctx, "SELECT k, v FROM cr ORDER BY k", pgx.QueryExecModeSimpleProtocol)
				crashCheckDownError(t, "simple-protocol scatter query", err, name)
				revive(t, s)
				var n int64
				err = (*s).QueryRow(ctx, "SELECT count(*) FROM cr").Scan(&n)
				crashCheckDownError(t, "extended-protocol scatter query", err, name)
				revive(t, s)
			}
		}
		// A point lookup on the stopped node fails the same way.
		_, err := crashPoint(ctx, conn, byNode[victim][0])
		crashCheckDownError(t, "point query on the stopped node", err, name)
		revive(t, &conn)
		_, err = conn.Exec(ctx, "UPDATE cr SET v = 'lost' WHERE k = $1", byNode[victim][0])
		crashCheckDownError(t, "update on the stopped node", err, name)
		revive(t, &conn)
	})

	t.Run("PointQueryOnHealthyNode", func(t *testing.T) {
		for _, s := range []*pgx.Conn{conn, other} {
			for _, i := range healthy {
				for _, k := range byNode[i][:3] {
					v, err := crashPoint(ctx, s, k)
					if err != nil || v != fmt.Sprintf("v%d", k) {
						t.Errorf("point query k=%d on healthy node %s: %q, %v; want v%d", k, c.Names[i], v, err, k)
					}
				}
			}
		}
	})

	// A new row whose shard is on a healthy node can be written meanwhile.
	newKey := int64(0)
	for k := int64(1000); k < 1100; k++ {
		if crashNodeOfKey(t, c, k) != victim {
			newKey = k
			break
		}
	}
	t.Run("WriteToHealthyNode", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "INSERT INTO cr (k, v) VALUES ($1, $2)", newKey, fmt.Sprintf("v%d", newKey)); err != nil {
			t.Errorf("insert k=%d on a healthy node: %v", newKey, err)
		}
	})

	t.Run("OtherSessionsKeepWorking", func(t *testing.T) {
		fresh := biConnect(t, c.ClientURL)
		for _, s := range []*pgx.Conn{conn, other, fresh} {
			var one int
			if err := s.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("SELECT 1 = %d, %v", one, err)
			}
			k := byNode[healthy[1]][0]
			if v, err := crashPoint(ctx, s, k); err != nil || v != fmt.Sprintf("v%d", k) {
				t.Errorf("point query k=%d: %q, %v", k, v, err)
			}
		}
		// A transaction block that touches the stopped node fails and
		// rolls back cleanly.
		tx, err := fresh.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crashPoint(ctx, fresh, byNode[victim][0]); err == nil {
			t.Errorf("point query on the stopped node inside a transaction succeeded")
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Errorf("rollback after the failure: %v", err)
		}
		if v, err := crashPoint(ctx, fresh, byNode[healthy[0]][0]); err != nil || v == "" {
			t.Errorf("point query after rollback: %q, %v", v, err)
		}
	})

	if err := c.Nodes[victim].Start(ctx, port); err != nil {
		t.Fatalf("restarting data node %s on port %d: %v", name, port, err)
	}

	t.Run("AfterRestart", func(t *testing.T) {
		want := crashRows
		wantSum := int64(crashRows * (crashRows + 1) / 2)
		if newKey != 0 {
			want++
			wantSum += newKey
		}
		fresh := biConnect(t, c.ClientURL)
		for si, s := range []*pgx.Conn{conn, other, fresh} {
			var n, sum int64
			if err := s.QueryRow(ctx, "SELECT count(*), sum(k) FROM cr").Scan(&n, &sum); err != nil {
				t.Errorf("session %d: scatter query after the restart: %v", si, err)
				continue
			}
			if n != int64(want) || sum != wantSum {
				t.Errorf("session %d: count, sum after the restart = %d, %d; want %d, %d", si, n, sum, want, wantSum)
			}
			for _, k := range byNode[victim] {
				if v, err := crashPoint(ctx, s, k); err != nil || v != fmt.Sprintf("v%d", k) {
					t.Errorf("session %d: point query k=%d on the restarted node: %q, %v; want v%d", si, k, v, err, k)
				}
			}
		}
		rows, err := conn.Query(ctx, "SELECT k, v FROM cr ORDER BY k")
		if err != nil {
			t.Fatal(err)
		}
		type kv struct {
			K int64
			V string
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[kv])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("%d rows after the restart; want %d", len(got), want)
		}
		for i, r := range got[:crashRows] {
			if r.K != int64(i+1) || r.V != fmt.Sprintf("v%d", i+1) {
				t.Errorf("row %d after the restart = %+v", i, r)
			}
		}
		// Writes reach the restarted node again.
		k := byNode[victim][0]
		if _, err := conn.Exec(ctx, "UPDATE cr SET v = $2 WHERE k = $1", k, "updated"); err != nil {
			t.Errorf("update on the restarted node: %v", err)
		} else if v, err := crashPoint(ctx, other, k); err != nil || v != "updated" {
			t.Errorf("k=%d after the update: %q, %v", k, v, err)
		}
	})

	// A backend killed while it runs a statement ends its connection
	// without an error message: the client is told which node failed.
	t.Run("BackendKilledMidQuery", func(t *testing.T) {
		node, err := pgx.Connect(ctx, c.Nodes[victim].URL())
		if err != nil {
			t.Fatal(err)
		}
		defer node.Close(context.Background())
		done := make(chan error, 1)
		go func() {
			var n int64
			done <- other.QueryRow(ctx, "SELECT count(*) FROM cr WHERE pg_sleep(0.05 + k * 0) IS NOT NULL").Scan(&n)
		}()
		var pid int
		for pid == 0 {
			err := node.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'").Scan(&pid)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("the statement never ran on the data node")
			}
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		crashCheckDownError(t, "scatter query whose backend was killed", <-done, name)
		// The node restarts its backends after the crash; wait for it.
		for {
			var n int64
			if err := other.QueryRow(ctx, "SELECT count(*) FROM cr").Scan(&n); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("the node did not come back after the killed backend: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
