package test

import (
	"context"
	"testing"

	"github.com/distgres/distgres/test/harness"
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
}
