package test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
)

// TestRowsPassThroughWithoutAllocating: the coordinator (in this test's
// process) gathers and merges rows from the data nodes, and copies them
// out, without an allocation per row: they stay in the node stream's
// buffer until they are written to the client. The client is psql, in
// its own process, so the allocations counted are the coordinator's,
// plus a session's startup and whatever background work runs meanwhile;
// one allocation per row would be 40,000 more.
func TestRowsPassThroughWithoutAllocating(t *testing.T) {
	const rows = 40000
	c := harness.Start(t, harness.Options{Nodes: 3})
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	for _, sql := range []string{
		"CREATE TABLE passthrough (id int PRIMARY KEY, v text)",
		fmt.Sprintf("INSERT INTO passthrough SELECT g, 'row ' || g FROM generate_series(1, %d) g", rows),
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, sql string
	}{
		{"gather", "SELECT id, v FROM passthrough"},
		{"merge", "SELECT id, v FROM passthrough ORDER BY id"},
		{"merge descending on text", "SELECT id, v FROM passthrough ORDER BY v DESC"},
		{"COPY of a query", "COPY (SELECT id, v FROM passthrough) TO STDOUT"},
		{"COPY of a query, CSV", "COPY (SELECT id, v FROM passthrough ORDER BY id) TO STDOUT (FORMAT csv)"},
		{"COPY of a table", "COPY passthrough TO STDOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() uint64 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				r := psqlRun(t, c.ClientURL, "-A", "-t", "-c", tt.sql)
				runtime.ReadMemStats(&after)
				if r.code != 0 {
					t.Fatalf("psql: exit %d: %s", r.code, r.stderr)
				}
				if got := strings.Count(r.stdout, "\n"); got != rows {
					t.Fatalf("%d rows, want %d", got, rows)
				}
				return after.Mallocs - before.Mallocs
			}
			run() // plans and prepares the fragments
			allocs := run()
			t.Logf("%d allocations for %d rows (%.3f per row)", allocs, rows, float64(allocs)/rows)
			if allocs > rows/10 {
				t.Errorf("%d allocations for %d rows: more than one per ten rows", allocs, rows)
			}
		})
	}
}
