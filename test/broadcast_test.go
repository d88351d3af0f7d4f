package test

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
	setup := []string{
		"CREATE TABLE bord (id int PRIMARY KEY, customer int NOT NULL, amount int NOT NULL, pad text NOT NULL)",
		"CREATE TABLE bcust (cid int PRIMARY KEY, region text NOT NULL, tier int)",
		"INSERT INTO bord VALUES " + strings.Join(ord, ", "),
		"INSERT INTO bcust VALUES " + strings.Join(cust, ", "),
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
	}
	run := func(label string) {
		t.Helper()
		for _, q := range queries {
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

	run("shipped")
	out := explain(queries[0].sql)
	if !strings.Contains(out, "Broadcast  (actual rows=") || !strings.Contains(out, "Instead, past distgres.max_broadcast_size: Pull\n") {
		t.Errorf("the join was not shipped:\n%s", out)
	}

	cmpExec(t, dist, "SET distgres.max_broadcast_size = '1kB'")
	run("pulled")
	out = explain(queries[0].sql)
	if !strings.Contains(out, "Instead, past distgres.max_broadcast_size: Pull  (actual rows=") {
		t.Errorf("past the limit, the join was not pulled:\n%s", out)
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
