package test

import (
	"context"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestUnionAllAppend: a UNION ALL (or UNION) of branches over distributed
// and reference tables runs each branch as its own plan and appends the
// rows (merging equal ones for UNION), cast to the union's column types,
// so that they arrive as stock PostgreSQL sends them in every client mode
// (binary included), with parameters, and inside a transaction block that
// wrote.
func TestUnionAllAppend(t *testing.T) {
	ctx := context.Background()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ref := cmpConnect(t, harness.StartPostgres(t))
	dist := cmpConnect(t, c.ClientURL)
	const refTable = "CREATE TABLE uref (rid int PRIMARY KEY, w int, t text)"
	cmpExec(t, ref, refTable)
	cmpExec(t, dist, refTable+" DISTRIBUTE BY REPLICATION")
	setup := []string{
		"CREATE TABLE uapp (id int PRIMARY KEY, v numeric, s varchar(12), n bigint)",
		"INSERT INTO uapp SELECT i, i * 0.25, 'u' || i, i::bigint * 3000000000 FROM generate_series(1, 200) i",
		"INSERT INTO uref SELECT i, i % 7, 'r' || i FROM generate_series(1, 40) i",
	}
	cmpExec(t, ref, setup...)
	cmpExec(t, dist, setup...)
	queries := []cmpQuery{
		{name: "casts", sql: "SELECT id, v, s FROM uapp WHERE id > $1 UNION ALL SELECT w, rid, t FROM uref WHERE rid < $2", args: []any{190, 5}},
		{name: "bigint-and-int", sql: "SELECT n FROM uapp WHERE id % 50 = 0 UNION ALL SELECT w FROM uref WHERE rid % 9 = 0"},
		{name: "aggregates", sql: "SELECT w, count(*) FROM uref GROUP BY w UNION ALL SELECT id % 3, sum(id) FROM uapp GROUP BY id % 3"},
		{name: "union-distinct", sql: "SELECT v FROM uapp WHERE id % 8 = 0 UNION SELECT w FROM uref UNION SELECT $1::numeric", args: []any{2}},
		{name: "routed-and-merged", sql: "SELECT s FROM uapp WHERE id = $1 UNION ALL (SELECT t FROM uref ORDER BY rid DESC LIMIT 2)", args: []any{17}},
	}
	cmpEach(t, ctx, ref, dist, "committed", queries)
	out := textLines(t, ctx, dist, "EXPLAIN SELECT id FROM uapp UNION ALL SELECT rid FROM uref", pgx.QueryExecModeSimpleProtocol)
	if !strings.Contains(out, "Append") || strings.Contains(out, "Pull") {
		t.Errorf("the UNION ALL was not appended:\n%s", out)
	}
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "BEGIN", "DELETE FROM uapp WHERE id > 195", "INSERT INTO uref VALUES (100, 1, 'new')")
	}
	cmpEach(t, ctx, ref, dist, "in a block", queries)
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "ROLLBACK")
	}
}
