package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestBroadcastJoin: joins of distributed tables on columns other than
// their distribution columns ship the filtered table to every node and run
// over the other's shards (the Broadcast plan), or, past
// distgres.max_broadcast_size, pull both to one node; either way they
// answer as stock PostgreSQL does, in every client mode, with parameters,
// outer joins, subqueries, and in a transaction block that wrote.
func TestBroadcastJoin(t *testing.T) {
	ctx := context.Background()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ref := cmpConnect(t, harness.StartPostgres(t))
	dist := cmpConnect(t, c.ClientURL)
	var ord, cust []string
	for i := 1; i <= 600; i++ {
		ord = append(ord, fmt.Sprintf("(%d, %d, %d, 'pad-%d')", i, i%97, i%250, i))
	}
	for i := 0; i < 90; i++ {
		cust = append(cust, fmt.Sprintf("(%d, 'region-%d', %d)", i, i%7, i%3))
	}
	var names, visits []string
	for i := 0; i < 120; i++ {
		score := fmt.Sprint(i % 11)
		if i%13 == 0 {
			score = "NULL"
		}
		names = append(names, fmt.Sprintf("('user-%d', %s)", i, score))
	}
	for i := 0; i < 400; i++ {
		name := fmt.Sprintf("'user-%d'", i%150) // some match no user
		if i%37 == 0 {
			name = "NULL"
		}
		visits = append(visits, fmt.Sprintf("(%d, %s, %d)", i, name, int64(i)*10_000_000_000%7))
	}
	setup := []string{
		"CREATE TABLE bord (id int PRIMARY KEY, customer int NOT NULL, amount int NOT NULL, pad text NOT NULL)",
		"CREATE TABLE bcust (cid int PRIMARY KEY, region text NOT NULL, tier int)",
		"INSERT INTO bord VALUES " + strings.Join(ord, ", "),
		"INSERT INTO bcust VALUES " + strings.Join(cust, ", "),
		"CREATE TABLE bname (name text PRIMARY KEY, score int)",
		"CREATE TABLE bvisit (vid int PRIMARY KEY, name varchar(20), big bigint)",
		"INSERT INTO bname VALUES " + strings.Join(names, ", "),
		"INSERT INTO bvisit VALUES " + strings.Join(visits, ", "),
	}
	cmpExec(t, ref, setup...)
	cmpExec(t, dist, setup...)
	queries := []cmpQuery{
		{name: "join-group-by", sql: "SELECT c.region, count(*), sum(o.amount) FROM bord o JOIN bcust c ON c.cid = o.customer WHERE o.amount < 40 GROUP BY c.region"},
		{name: "join-ordered", sql: "SELECT o.id, c.region FROM bord o JOIN bcust c ON c.cid = o.customer WHERE o.amount BETWEEN 10 AND 12 ORDER BY o.id", ordered: true},
		{name: "param", sql: "SELECT count(*) FROM bord o JOIN bcust c ON c.cid = o.customer WHERE o.amount < $1 AND c.tier = $2", args: []any{30, 1}},
		{name: "left-join-anchor-preserved", sql: "SELECT c.cid, o.id FROM bcust c LEFT JOIN bord o ON o.customer = c.cid AND o.amount > 240 WHERE c.tier = 2"},
		{name: "anti-join", sql: "SELECT c.cid FROM bcust c WHERE NOT EXISTS (SELECT 1 FROM bord o WHERE o.customer = c.cid AND o.amount < 5)"},
		{name: "in-subquery", sql: "SELECT count(*) FROM bord o WHERE o.customer IN (SELECT c.cid FROM bcust c WHERE c.region = 'region-3')"},
		{name: "top-n", sql: "SELECT o.id, o.amount, c.region FROM bord o JOIN bcust c ON c.cid = o.customer ORDER BY o.amount DESC, o.id LIMIT 7", ordered: true},
		// Repartitioned: the shipped table is joined with the anchor's
		// distribution column (text with varchar, NULL keys, keys that
		// match nothing).
		{name: "repartition-text", sql: "SELECT n.score, count(*), count(v.vid) FROM bname n JOIN bvisit v ON v.name = n.name GROUP BY n.score"},
		{name: "repartition-left-join", sql: "SELECT n.name, v.vid FROM bname n LEFT JOIN bvisit v ON n.name = v.name AND v.vid % 3 = 0 WHERE n.score < 3"},
		{name: "repartition-group-by-join-column", sql: "SELECT v.name, count(*) FROM bname n, bvisit v WHERE v.name = n.name AND v.vid > $1 GROUP BY v.name", args: []any{100}},
		{name: "repartition-router", sql: "SELECT v.vid FROM bname n JOIN bvisit v ON v.name = n.name WHERE n.name = 'user-7' AND v.vid >= 0"},
		{name: "repartition-and-ship-whole", sql: "SELECT c.region, count(*) FROM bcust c JOIN bord o ON o.customer = c.cid JOIN bvisit v ON v.vid = o.id WHERE v.big > 2 GROUP BY c.region"},
		{name: "repartition-error", sql: "SELECT n.score / (v.vid - v.vid) FROM bname n JOIN bvisit v ON v.name = n.name"},
		// Joined on columns that are neither table's distribution
		// column: past the bound, both repartitioned (the anchor, on
		// the preserved side, keeps its NULL keys).
		{name: "dual-repartition-left-join", sql: "SELECT n.score, count(o.id), sum(o.customer) FROM bname n LEFT JOIN bord o ON o.amount = n.score GROUP BY n.score"},
		{name: "other-type-family-ships-whole", sql: "SELECT count(*) FROM bord o JOIN bvisit v ON v.big = o.id"},
	}
	run := func(label string) {
		t.Helper()
		for _, q := range queries {
			if q.name == "repartition-error" && strings.Contains(label, "block") {
				continue // it would abort the block for the queries after it
			}
			for _, mode := range cmpModes {
				want := cmpRun(ctx, ref, mode, q.sql, q.args)
				got := cmpRun(ctx, dist, mode, q.sql, q.args)
				if d := cmpCompare(q, want, got); d != "" {
					t.Errorf("%s %s (%s): %s", label, q.name, mode.name, d)
				}
			}
		}
	}
	explain := func(sql string) string {
		t.Helper()
		return textLines(t, ctx, dist, "EXPLAIN ANALYZE "+sql, pgx.QueryExecModeSimpleProtocol)
	}

	pulled := "Pull  (actual rows="
	run("shipped")
	out := explain(queries[0].sql)
	if !strings.Contains(out, "Broadcast  (actual rows=") || strings.Contains(out, pulled) {
		t.Errorf("the join was not shipped:\n%s", out)
	}
	for _, q := range queries[7:13] {
		if len(q.args) > 0 || q.name == "repartition-error" {
			continue
		}
		if out := explain(q.sql); !strings.Contains(out, "Repartition by column ") {
			t.Errorf("%s: the joined table was not repartitioned:\n%s", q.name, out)
		}
	}
	if out := explain(queries[14].sql); strings.Contains(out, "Repartition by column ") || !strings.Contains(out, "Ship to every node as ") {
		t.Errorf("a join column of another type family was repartitioned:\n%s", out)
	}

	// distgres.max_broadcast_size bounds what one node's statements
	// carry: a repartitioned table sends each node its share only.
	cmpExec(t, dist, "SET distgres.max_broadcast_size = '12kB'")
	if out := explain(queries[7].sql); !strings.Contains(out, "Repartition by column ") || strings.Contains(out, "Pull  (actual rows=") {
		t.Errorf("under the bound per node, the repartitioned join was pulled:\n%s", out)
	}
	// Shipped whole, the same rows (past 12kB as VALUES, not as binary
	// COPY rows) go through temporary tables.
	if out := explain("SELECT count(*) FROM bname n JOIN bvisit v ON v.name = n.name OR v.vid < 0"); !strings.Contains(out, "Ran: shipped ") || strings.Contains(out, "Pull  (actual rows=") {
		t.Errorf("the same table shipped whole did not go through temporary tables:\n%s", out)
	}

	// Past the bound, a repartitioned table goes through temporary
	// tables on the nodes; a table shipped whole makes it pull.
	cmpExec(t, dist, "SET distgres.max_broadcast_size = '1kB'")
	run("past the bound")
	for _, q := range queries[:14] {
		if len(q.args) > 0 || q.name == "repartition-error" {
			continue
		}
		out := explain(q.sql)
		shipsWhole := strings.Contains(out, "Ship to every node as ")
		if strings.Contains(out, "Repartition by column ") && !shipsWhole && strings.Contains(out, pulled) {
			t.Errorf("%s: past the bound, the repartitioned join was pulled:\n%s", q.name, out)
		}
		if q.name == queries[7].name && !strings.Contains(out, "Ran: shipped ") {
			t.Errorf("%s: past the bound, the repartitioned join did not go through temporary tables:\n%s", q.name, out)
		}
	}
	if out := explain("SELECT count(*) FROM bname n JOIN bvisit v ON v.name = n.name OR v.vid < 0"); !strings.Contains(out, pulled) {
		t.Errorf("a table shipped whole was not pulled past the bound:\n%s", out)
	}
	dual := "Instead, past distgres.max_broadcast_size: Broadcast  (actual rows="
	if out := explain(queries[13].sql); !strings.Contains(out, dual) || strings.Contains(out, pulled) {
		t.Errorf("past the bound, the join on other columns was not repartitioned on both sides:\n%s", out)
	}
	// The temporary tables went with their transactions: the pooled
	// sessions serve the next statements as before.
	run("after temporary tables")

	// In a transaction block (temporary tables would keep it from being
	// prepared), it pulls; the shipped rows include the block's own
	// uncommitted writes.
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "BEGIN", "UPDATE bord SET amount = 1 WHERE id % 50 = 0", "INSERT INTO bcust VALUES (1000, 'region-new', 1)", "UPDATE bord SET customer = 1000 WHERE id = 3")
	}
	run("in a block, past the bound")
	if out := explain(queries[7].sql); !strings.Contains(out, "Repartition by column ") || !strings.Contains(out, pulled) || strings.Contains(out, "through temporary tables on 3 nodes") {
		t.Errorf("in a block past the bound, the repartitioned join was not pulled:\n%s", out)
	}
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "ROLLBACK")
	}
	cmpExec(t, dist, "RESET distgres.max_broadcast_size")

	// In a transaction block, the shipped rows include the block's own
	// uncommitted writes.
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "BEGIN", "UPDATE bord SET amount = 1 WHERE id % 50 = 0", "INSERT INTO bcust VALUES (1000, 'region-new', 1)", "UPDATE bord SET customer = 1000 WHERE id = 3")
	}
	run("in a block")
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "ROLLBACK")
	}
}

// TestBroadcastConcurrentCopies: more statements shipping rows through
// temporary tables at once than a node pool has sessions (each holds one
// per node while its sources take others) all finish, with the rows stock
// PostgreSQL returns, and the pools serve afterwards.
func TestBroadcastConcurrentCopies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ref := cmpConnect(t, harness.StartPostgres(t))
	dist := cmpConnect(t, c.ClientURL)
	setup := []string{
		"CREATE TABLE ccname (name text PRIMARY KEY, score int)",
		"CREATE TABLE ccvisit (vid int PRIMARY KEY, name text, pad text)",
		"INSERT INTO ccname SELECT 'u' || i, i % 9 FROM generate_series(1, 300) i",
		"INSERT INTO ccvisit SELECT i, 'u' || (i % 350), repeat('p', 40) FROM generate_series(1, 3000) i",
	}
	cmpExec(t, ref, setup...)
	cmpExec(t, dist, setup...)
	const sql = "SELECT n.score, count(*), max(v.vid) FROM ccname n JOIN ccvisit v ON v.name = n.name GROUP BY n.score ORDER BY n.score"
	want := cmpRun(ctx, ref, cmpModes[0], sql, nil)
	const clients = 24 // more than a node pool's 16 sessions
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		go func() {
			conn, err := pgx.Connect(ctx, harness.URL(c.ClientURL))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "SET distgres.max_broadcast_size = '1kB'"); err != nil {
				errs <- err.Error()
				return
			}
			for range 3 {
				got := cmpRun(ctx, conn, cmpModes[0], sql, nil)
				if d := cmpCompare(cmpQuery{name: "concurrent", sql: sql, ordered: true}, want, got); d != "" {
					errs <- d
					return
				}
			}
			errs <- ""
		}()
	}
	for i := 0; i < clients; i++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	cmpExec(t, dist, "SET distgres.max_broadcast_size = '1kB'")
	out := textLines(t, ctx, dist, "EXPLAIN ANALYZE "+sql, pgx.QueryExecModeSimpleProtocol)
	if !strings.Contains(out, "Ran: shipped ") {
		t.Errorf("the join did not ship through temporary tables:\n%s", out)
	}
}
