package test

import (
	"context"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestRecursivePlanning: subqueries in FROM and CTEs over distributed
// tables run as plans of their own (two-phase aggregates, merges) whose
// rows the rest of the statement reads; results match stock PostgreSQL in
// every client mode, with parameters inside and outside the subqueries,
// and in a transaction block that wrote.
func TestRecursivePlanning(t *testing.T) {
	ctx := context.Background()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ref := cmpConnect(t, harness.StartPostgres(t))
	dist := cmpConnect(t, c.ClientURL)
	setup := []string{
		"CREATE TABLE rsale (id int PRIMARY KEY, shop int, amount numeric, day date)",
		"CREATE TABLE rshop (sid int PRIMARY KEY, city text)",
		"INSERT INTO rsale SELECT i, i % 12, (i % 40) * 2.5, DATE '2026-01-01' + i % 30 FROM generate_series(1, 600) i",
		"INSERT INTO rshop SELECT i, 'city-' || (i % 4) FROM generate_series(0, 11) i",
	}
	cmpExec(t, ref, setup...)
	cmpExec(t, dist, setup...)
	queries := []cmpQuery{
		{name: "aggregate-of-aggregates", sql: "SELECT max(total), min(total) FROM (SELECT shop, sum(amount) AS total FROM rsale WHERE day >= $1 GROUP BY shop) AS per_shop", args: []any{"2026-01-10"}},
		{name: "cte-joined-with-distributed", sql: "WITH best AS (SELECT shop, sum(amount) AS total FROM rsale GROUP BY shop ORDER BY total DESC LIMIT 3) SELECT s.city, b.total FROM best b JOIN rshop s ON s.sid = b.shop WHERE b.total > $1", args: []any{100}},
		// Past 256 kB of rows per node, through temporary tables (VALUES
		// in the transaction block).
		{name: "large-subquery", sql: "SELECT s.shop, count(*), max(length(s.pad)) FROM (SELECT shop, repeat(shop::text, 700) AS pad FROM rsale WHERE id > $1) AS s GROUP BY s.shop", args: []any{0}},
		{name: "subquery-outer-scatter", sql: "SELECT r.id, r.amount FROM rsale r JOIN (SELECT shop, max(amount) AS top FROM rsale GROUP BY shop) m ON m.shop = r.shop AND r.amount = m.top WHERE r.id < $1", args: []any{200}},
	}
	cmpEach(t, ctx, ref, dist, "committed", queries)
	out := textLines(t, ctx, dist, "EXPLAIN ANALYZE SELECT avg(n) FROM (SELECT shop, count(*) AS n FROM rsale GROUP BY shop) AS s", pgx.QueryExecModeSimpleProtocol)
	if !strings.Contains(out, "Broadcast  (actual rows=1") || !strings.Contains(out, "the rows of") || strings.Contains(out, "Pull  (actual") {
		t.Errorf("the subquery was not planned on its own:\n%s", out)
	}
	out = textLines(t, ctx, dist, "EXPLAIN ANALYZE SELECT count(*) FROM (SELECT shop, repeat(shop::text, 700) AS pad FROM rsale) AS s", pgx.QueryExecModeSimpleProtocol)
	if !strings.Contains(out, "Ran: shipped ") || strings.Contains(out, "Pull  (actual") {
		t.Errorf("the large subquery's rows did not go through temporary tables:\n%s", out)
	}
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "BEGIN", "UPDATE rsale SET amount = amount + 100 WHERE id % 7 = 0", "INSERT INTO rshop VALUES (50, 'new')", "UPDATE rsale SET shop = 50 WHERE id = 12")
	}
	cmpEach(t, ctx, ref, dist, "in a block", queries)
	for _, conn := range []*pgx.Conn{ref, dist} {
		cmpExec(t, conn, "ROLLBACK")
	}
}
