package test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// newDataNode starts a fresh PostgreSQL server (configured like the
// cluster's nodes) and returns its port.
func newDataNode(t *testing.T) int {
	t.Helper()
	u, err := url.Parse(harness.StartPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func mustConnect(t *testing.T, ctx context.Context, u string) *pgx.Conn {
	t.Helper()
	if !strings.Contains(u, "?") {
		u = harness.URL(u)
	}
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func queryInt(t *testing.T, ctx context.Context, c *pgx.Conn, sql string) int64 {
	t.Helper()
	var n int64
	if err := c.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// replicationLeftovers lists the publications, subscriptions and
// replication slots on a data node's shard database.
func replicationLeftovers(t *testing.T, ctx context.Context, port int) []string {
	t.Helper()
	c := mustConnect(t, ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/distgres_shards", port))
	rows, err := c.Query(ctx, `SELECT 'publication ' || pubname FROM pg_publication
		UNION ALL SELECT 'subscription ' || subname FROM pg_subscription
		UNION ALL SELECT 'slot ' || slot_name FROM pg_replication_slots`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNodeAddAndRebalance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 8})
	db := mustConnect(t, ctx, c.ClientURL)
	for _, s := range []string{
		"CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL)",
		"CREATE TABLE events (account bigint, note text) DISTRIBUTE BY HASH(account)",
		"CREATE TABLE currencies (code text PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION",
		"INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 2000) g",
		"INSERT INTO events SELECT g % 2000 + 1, 'e' || g FROM generate_series(1, 5000) g",
		"INSERT INTO currencies VALUES ('EUR', 'euro'), ('USD', 'dollar')",
	} {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	port := newDataNode(t)
	start := time.Now()
	var msg string
	if err := db.QueryRow(ctx, fmt.Sprintf("SELECT distgres_node_add('dn3', '127.0.0.1', %d)", port)).Scan(&msg); err != nil {
		t.Fatalf("node add: %s", errDetail(err))
	}
	t.Log(msg, time.Since(start))
	start = time.Now()
	if err := db.QueryRow(ctx, "SELECT distgres_rebalance()").Scan(&msg); err != nil {
		t.Fatalf("rebalance: %s", errDetail(err))
	}
	t.Log(msg, time.Since(start))
	rows, _ := db.Query(ctx, "SELECT name, state, shards FROM distgres_nodes() ORDER BY name")
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, state string
		var shards int
		err := r.Scan(&name, &state, &shards)
		return fmt.Sprintf("%s %s %d", name, state, shards), err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(counts)
	if got := queryInt(t, ctx, db, "SELECT count(*) FROM accounts"); got != 2000 {
		t.Errorf("accounts = %d rows, want 2000", got)
	}
	if got := queryInt(t, ctx, db, "SELECT sum(balance) FROM accounts"); got != 20010000 {
		t.Errorf("sum(balance) = %d", got)
	}
	if got := queryInt(t, ctx, db, "SELECT count(*) FROM events e JOIN accounts a ON a.id = e.account"); got != 5000 {
		t.Errorf("join = %d rows, want 5000", got)
	}
	if got := queryInt(t, ctx, db, "SELECT count(*) FROM distgres_shards() WHERE nodes LIKE '%dn3%' AND table_name = 'public.accounts'"); got == 0 {
		t.Errorf("no accounts shard on dn3 after rebalance")
	}
	if got := queryInt(t, ctx, db, "SELECT count(*) FROM distgres_shards() WHERE nodes LIKE '%,dn3' AND table_name = 'public.currencies'"); got != 1 {
		t.Errorf("reference table not placed on dn3")
	}
	checkPlacements(t, ctx, db)
	// A move to a node that is down fails before it starts.
	var shard int64
	if err := db.QueryRow(ctx, "SELECT min(shard_id) FROM distgres_shards() WHERE nodes = 'node1'").Scan(&shard); err != nil {
		t.Fatal(err)
	}
	if err := c.Nodes[1].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(ctx, fmt.Sprintf("SELECT distgres_move_shard(%d, 'node2')", shard))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" || !strings.Contains(pe.Message, "node2") {
		t.Errorf("move to a stopped node: %v, want SQLSTATE 08006 naming node2", err)
	}
	if got := placementOf(t, ctx, db, shard); got != "node1" || queryInt(t, ctx, db, "SELECT count(*) FROM distgres_moves()") != 0 {
		t.Errorf("after the failed move shard %d is on %s (moves recorded: %d)", shard, got, queryInt(t, ctx, db, "SELECT count(*) FROM distgres_moves()"))
	}
	for _, tc := range []struct {
		sql, code string
	}{
		{fmt.Sprintf("SELECT distgres_node_add('dn3', '127.0.0.1', %d)", port), "42710"},
		{fmt.Sprintf("SELECT distgres_node_add('dn4', '127.0.0.1', %d)", port), "42710"},
		{fmt.Sprintf("SELECT distgres_node_add('dn4', '127.0.0.1', %d)", unusedPort(t)), "08001"},
		{"SELECT distgres_node_add('dn4', '127.0.0.1', 99999)", "22023"},
		{"SELECT distgres_move_shard(1, 'dn3')", "42704"},
		{"SELECT distgres_node_remove('nope')", "42704"},
		{"SELECT distgres_node_remove('dn3')", "55006"},
		{"SELECT distgres_rebalance('fastest')", "22023"},
		{"SELECT 1, distgres_rebalance()", "0A000"},
		{"SELECT distgres_rebalance(current_user)", "0A000"},
		{"BEGIN; SELECT distgres_rebalance(); COMMIT", "25001"},
		{"SELECT distgres_move_shard((SELECT min(shard_id) FROM distgres_shards() WHERE nodes = 'node1'), 'dn3')", "0A000"},
	} {
		_, err := db.Exec(ctx, tc.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tc.sql, err, tc.code)
		}
		db.Exec(ctx, "ROLLBACK")
	}
}

// errDetail is an error with its DETAIL and HINT, when it has them.
func errDetail(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%v (detail: %s; hint: %s)", err, pe.Detail, pe.Hint)
	}
	return err.Error()
}

// checkPlacements checks every node against the catalog, as the
// coordinator at db reports it: each node holds exactly the shard tables
// placed on it, the copies of a reference table are equal, and no
// publication, subscription or replication slot is left.
func checkPlacements(t *testing.T, ctx context.Context, db *pgx.Conn) {
	t.Helper()
	type node struct {
		host string
		port int
	}
	nodes := map[string]node{}
	rows, err := db.Query(ctx, "SELECT name, host, port FROM distgres_nodes()")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var n node
		if err := rows.Scan(&name, &n.host, &n.port); err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{} // node -> shard tables
	replicated := map[string][]string{}  // shard table -> nodes (reference tables)
	rows, err = db.Query(ctx, "SELECT table_name, shard_id, nodes FROM distgres_shards()")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, placed string
		var id int64
		if err := rows.Scan(&table, &id, &placed); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s_%d", table, id)
		on := strings.Split(placed, ",")
		for _, n := range on {
			if want[n] == nil {
				want[n] = map[string]bool{}
			}
			want[n][name] = true
		}
		if len(on) > 1 {
			replicated[name] = on
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	conns := map[string]*pgx.Conn{}
	for name, n := range nodes {
		conn := mustConnect(t, ctx, fmt.Sprintf("postgres://postgres@%s:%d/distgres_shards", n.host, n.port))
		conns[name] = conn
		rows, err := conn.Query(ctx, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
		if err != nil {
			t.Fatal(err)
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range have {
			if !want[name][h] {
				t.Errorf("node %s holds %s, which the catalog does not place there", name, h)
			}
			delete(want[name], h)
		}
		for w := range want[name] {
			t.Errorf("node %s lacks %s, which the catalog places there", name, w)
		}
		if left := replicationLeftovers(t, ctx, n.port); len(left) > 0 {
			t.Errorf("node %s: left behind: %s", name, strings.Join(left, ", "))
		}
	}
	for table, on := range replicated {
		var first string
		for i, n := range on {
			var contents string
			q := "SELECT coalesce(string_agg(t::text, ';' ORDER BY t::text), '') FROM " + table + " t"
			if err := conns[n].QueryRow(ctx, q).Scan(&contents); err != nil {
				t.Fatalf("node %s: %v", n, err)
			}
			if i == 0 {
				first = contents
			} else if contents != first {
				t.Errorf("reference table %s: the copy on %s differs from the one on %s", table, n, on[0])
			}
		}
	}
}

// TestRebalanceUnderLoad adds a third node to a 2-node cluster and
// rebalances while clients insert, update and read, then checks every
// acknowledged write against a shadow copy.
func TestRebalanceUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 8})
	load := startWorkload(t, ctx, c.ClientURL, 6)
	admin := mustConnect(t, ctx, c.ClientURL)
	time.Sleep(time.Second)
	port := newDataNode(t)
	var msg string
	if err := admin.QueryRow(ctx, fmt.Sprintf("SELECT distgres_node_add('dn3', '127.0.0.1', %d)", port)).Scan(&msg); err != nil {
		t.Fatalf("node add: %s", errDetail(err))
	}
	start := time.Now()
	if err := admin.QueryRow(ctx, "SELECT distgres_rebalance('shard-count', 2)").Scan(&msg); err != nil {
		t.Fatalf("rebalance: %s", errDetail(err))
	}
	t.Logf("%s in %v under load", msg, time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second)
	load.finish(t, ctx, c.Coordinator.Store.Snapshot())
	checkPlacements(t, ctx, admin)
	if n := queryInt(t, ctx, admin, "SELECT shards FROM distgres_nodes() WHERE name = 'dn3'"); n < 5 {
		t.Errorf("dn3 holds %d shards after the rebalance, want at least 5 (2 groups of 2 tables and the reference table)", n)
	}
}

// unusedPort returns a loopback port nothing listens on.
func unusedPort(t *testing.T) int {
	t.Helper()
	_, port, _ := strings.Cut(harness.FreeAddr(t), ":")
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRebalanceAcrossCoordinators runs the load through one coordinator
// while another adds a node and rebalances: the freeze and the switch
// reach the load's coordinator through Raft only.
func TestRebalanceAcrossCoordinators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	g := harness.StartGroup(t, harness.GroupOptions{Nodes: 2, Coordinators: 3, Shards: 8})
	load := startWorkload(t, ctx, g.URL(1), 6)
	admin := mustConnect(t, ctx, g.URL(0))
	time.Sleep(500 * time.Millisecond)
	port := newDataNode(t)
	var msg string
	if err := admin.QueryRow(ctx, fmt.Sprintf("SELECT distgres_node_add('dn3', '127.0.0.1', %d)", port)).Scan(&msg); err != nil {
		t.Fatalf("node add: %s", errDetail(err))
	}
	if err := admin.QueryRow(ctx, "SELECT distgres_rebalance('shard-count', 2)").Scan(&msg); err != nil {
		t.Fatalf("rebalance: %s", errDetail(err))
	}
	t.Log(msg)
	time.Sleep(500 * time.Millisecond)
	load.finish(t, ctx, g.Coords[1].Store.Snapshot())
	checkPlacements(t, ctx, mustConnect(t, ctx, g.URL(2)))
}
