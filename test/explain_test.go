package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestExplain checks what EXPLAIN shows through a driver: the tier, the
// fragments, the data node's own plan of one of them and, with ANALYZE,
// the rows and time of the run and of each step.
func TestExplain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 4})
	db := mustConnect(t, ctx, c.ClientURL)
	for _, s := range []string{
		"CREATE TABLE ex (id int PRIMARY KEY, v int)",
		"INSERT INTO ex SELECT g, g % 10 FROM generate_series(1, 2000) g",
		"ANALYZE ex",
		"CREATE TABLE ex2 (id int PRIMARY KEY, w int)",
	} {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	explain := func(sql string, args ...any) string {
		t.Helper()
		return textLines(t, ctx, db, sql, args...)
	}
	tests := []struct {
		sql  string
		args []any
		want []string
	}{
		{"EXPLAIN (COSTS off) SELECT v FROM ex WHERE id = 5", nil,
			[]string{"Distributed plan: router (one shard)", "Plan of one fragment on node", "Index Scan using ex_", "Index Cond: (id = 5)"}},
		{"EXPLAIN SELECT v FROM ex WHERE id = $1", []any{7},
			[]string{"Distributed plan: router", "Index Cond: (id = 7)"}},
		{"EXPLAIN SELECT v, count(*) FROM ex GROUP BY v ORDER BY v", nil,
			[]string{"Distributed plan: pushdown with merge", "Aggregate", "Tasks: 3", "HashAggregate"}},
		{"EXPLAIN ANALYZE SELECT count(*) FROM ex", nil,
			[]string{"Distributed execution: 1 rows in", "actual time=", "Execution Time"}},
		// Rows and time per step: one partial row per shard (4), one
		// combined row; ten groups from each of 3 nodes, combined into ten.
		{"EXPLAIN ANALYZE SELECT count(*) FROM ex", nil,
			[]string{"Aggregate  (actual rows=1 time=", "->  Gather  (actual rows=4 time="}},
		{"EXPLAIN ANALYZE SELECT v, count(*) FROM ex GROUP BY v", nil,
			[]string{"Distributed execution: 10 rows in", "Aggregate  (actual rows=10 time=", "->  Gather  (actual rows=30 time="}},
		{"EXPLAIN ANALYZE SELECT id FROM ex ORDER BY id LIMIT 5", nil,
			[]string{"Limit  (actual rows=5 time=", "->  Merge Sort  (actual rows=5 time="}},
		// DISTINCT ON merges the nodes' first rows of each of the ten
		// groups, keeping the first of each group.
		{"EXPLAIN ANALYZE SELECT DISTINCT ON (v) v, id FROM ex ORDER BY v, id DESC", nil,
			[]string{"Distributed plan: pushdown with merge", "Merge Sort  (actual rows=10 time=", "first row of each group of the first 1 keys (DISTINCT ON)", "Node node2: SELECT DISTINCT ON (v) v, id FROM"}},
		// Expressions over aggregates: groups combined by the
		// coordinator, finished by PostgreSQL.
		{"EXPLAIN ANALYZE SELECT v % 3 AS m, sum(id) / count(*) FROM ex GROUP BY v % 3 HAVING max(id) - min(id) > 10 ORDER BY 2 DESC", nil,
			[]string{"Distributed plan: pushdown with merge", "Finish in PostgreSQL  (actual rows=3 time=", "FROM distgres_shipped_", "->  Aggregate  (actual rows=3 time=", "max of partial column 4"}},
		// Aggregates with DISTINCT: the distinct combinations combined,
		// PostgreSQL aggregating them.
		{"EXPLAIN SELECT v, sum(DISTINCT id % 7) FROM ex GROUP BY v", nil,
			[]string{"Finish in PostgreSQL", "sum(DISTINCT distgres_groups.k2)", "GROUP BY v, id % 7"}},
		{"EXPLAIN SELECT ex.v, count(*) FROM ex JOIN ex2 USING (id) GROUP BY ex.v", nil,
			[]string{"Distributed plan: pushdown with merge", "JOIN \"public\".\"ex2_", "Tasks: 3"}},
		{"EXPLAIN INSERT INTO ex2 SELECT id, v FROM ex WHERE v > 5", nil,
			[]string{"Distributed plan: pushdown with merge", "INSERT INTO \"public\".\"ex2_", "FROM \"public\".\"ex_"}},
		{"EXPLAIN UPDATE ex SET v = 0 WHERE v > (SELECT avg(v) FROM ex)", nil,
			[]string{"Distributed plan: recursive planning", "Inline", "Read whole table"}},
	}
	for _, tt := range tests {
		out := explain(tt.sql, tt.args...)
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.sql, w, out)
			}
		}
	}
	if n := queryInt(t, ctx, db, "SELECT count(*) FROM ex WHERE v = 0"); n != 200 {
		t.Errorf("EXPLAIN of an UPDATE changed rows: %d with v = 0, want 200", n)
	}
	// EXPLAIN ANALYZE of a write runs it once, on every node it spans,
	// and reports what it did; the node's plan of a fragment is not run
	// again.
	for _, w := range []struct{ sql, want string }{
		{"EXPLAIN ANALYZE INSERT INTO ex2 SELECT id, v FROM ex WHERE v = 3", "Distributed execution: INSERT 0 200 in"},
		{"EXPLAIN (ANALYZE, TIMING off) UPDATE ex2 SET w = w + 1", "Distributed execution: UPDATE 200 in"},
		{"EXPLAIN ANALYZE DELETE FROM ex2 WHERE id > 1000", "Distributed execution: DELETE 100 in"},
	} {
		if out := explain(w.sql); !strings.Contains(out, w.want) || !strings.Contains(out, "Plan of one fragment on node") {
			t.Errorf("%s: output lacks %q:\n%s", w.sql, w.want, out)
		}
	}
	if n := queryInt(t, ctx, db, "SELECT count(*) FROM ex2"); n != 100 {
		t.Errorf("after EXPLAIN ANALYZE of INSERT and DELETE, ex2 has %d rows, want 100", n)
	}
	if n := queryInt(t, ctx, db, "SELECT sum(w) FROM ex2"); n != 400 {
		t.Errorf("after EXPLAIN ANALYZE of UPDATE w = w + 1, sum(w) = %d, want 400 (each row updated once)", n)
	}
}

// textLines runs a query returning one text column (EXPLAIN) and joins
// its rows with newlines.
func textLines(t *testing.T, ctx context.Context, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}
