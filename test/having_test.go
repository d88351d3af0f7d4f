package test

import (
	"context"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestHavingParams: HAVING (and expressions over aggregates) over groups
// combined on the coordinator, with
// parameters in every client mode (text and binary), answers as stock
// PostgreSQL does, and a parameter PostgreSQL cannot read as the compared
// type fails as it does there.
func TestHavingParams(t *testing.T) {
	ctx := context.Background()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ref := cmpConnect(t, harness.StartPostgres(t))
	dist := cmpConnect(t, c.ClientURL)
	setup := []string{
		"CREATE TABLE hp (id int PRIMARY KEY, g int, v numeric, f float8, s text)",
		"INSERT INTO hp SELECT i, i % 6, (i % 7) * 1.5, (i % 4) * 0.5, chr(97 + i % 5) FROM generate_series(1, 90) i",
	}
	cmpExec(t, ref, setup...)
	cmpExec(t, dist, setup...)
	queries := []cmpQuery{
		{name: "count-param", sql: "SELECT g, count(*) FROM hp GROUP BY g HAVING count(*) >= $1", args: []any{15}},
		{name: "sum-numeric-param", sql: "SELECT g FROM hp GROUP BY g HAVING sum(v) > $1 OR min(s) = $2", args: []any{70, "a"}},
		{name: "float-param-ordered", sql: "SELECT g, sum(f) FROM hp GROUP BY g HAVING sum(f) <= $1 ORDER BY g", args: []any{11.5}, ordered: true},
		{name: "hidden-key", sql: "SELECT count(*) FROM hp GROUP BY g, s HAVING g <> $1 AND s IS NOT NULL", args: []any{2}},
		{name: "bad-param", sql: "SELECT g FROM hp GROUP BY g HAVING sum(v) > $1", args: []any{"abc"}, wantErr: "22P02"},
		// Expressions over the aggregates, finished by PostgreSQL with
		// the statement's parameters.
		{name: "finish-having-param", sql: "SELECT g, sum(v) / count(*) FROM hp GROUP BY g HAVING sum(v) / count(*) > $1", args: []any{4.4}},
		{name: "finish-limit-param", sql: "SELECT s, max(v) - min(f) AS spread FROM hp WHERE id > $1 GROUP BY s ORDER BY spread DESC, s LIMIT $2", args: []any{10, 3}, ordered: true},
		{name: "finish-param-in-select", sql: "SELECT g, count(*) * $1::int FROM hp GROUP BY g", args: []any{3}},
		{name: "finish-bad-param", sql: "SELECT g FROM hp GROUP BY g HAVING sum(v) / count(*) > $1", args: []any{"abc"}, wantErr: "22P02"},
	}
	cmpEach(t, ctx, ref, dist, "having", queries)

	// Past distgres.max_broadcast_size of groups the statement is pulled
	// instead of finished.
	many := []cmpQuery{{name: "finish-many-groups", sql: "SELECT g, v, s, count(*) * 2 FROM hp GROUP BY g, v, s HAVING min(id) > $1", args: []any{3}}}
	cmpExec(t, dist, "SET distgres.max_broadcast_size = '1kB'")
	cmpEach(t, ctx, ref, dist, "past the bound", many)
	out := textLines(t, ctx, dist, "EXPLAIN ANALYZE SELECT g, v, s, count(*) * 2 FROM hp GROUP BY g, v, s HAVING min(id) > 3", pgx.QueryExecModeSimpleProtocol)
	if !strings.Contains(out, "Instead, past distgres.max_broadcast_size: Pull  (actual rows=") {
		t.Errorf("past the bound, the groups were not pulled:\n%s", out)
	}
	cmpExec(t, dist, "RESET distgres.max_broadcast_size")
	cmpEach(t, ctx, ref, dist, "under the bound", many)
}
