package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestCopy loads distributed, round-robin and replicated tables with COPY
// FROM STDIN in text, CSV and binary (psql \copy and pgx CopyFrom), reads
// them back with COPY TO STDOUT, and checks that a bad row fails the whole
// COPY with PostgreSQL's error and line, leaving nothing on any node.
func TestCopy(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 6})
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	for _, sql := range []string{
		"CREATE TABLE cp (id bigint PRIMARY KEY, name text, score numeric)",
		"CREATE TABLE cp_rr (v int, note text) DISTRIBUTE BY ROUNDROBIN",
		"CREATE TABLE cp_ref (code text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var text strings.Builder
	for i := 1; i <= 20000; i++ {
		fmt.Fprintf(&text, "%d\tname\\t%d\t%d.25\n", i, i, i%100)
	}
	textFile := filepath.Join(dir, "cp.tsv")
	os.WriteFile(textFile, []byte(text.String()), 0o644)
	count := func(sql string) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	t.Run("TextThroughPsql", func(t *testing.T) {
		psqlExpect(t, "\\copy text", psqlRun(t, c.ClientURL, "-c", "\\copy cp FROM '"+textFile+"'"), "COPY 20000\n")
		if n := count("SELECT count(*) FROM cp WHERE name LIKE 'name\t%'"); n != 20000 {
			t.Fatalf("%d rows with the unescaped tab, want 20000", n)
		}
		if n := count("SELECT sum(id) FROM cp"); n != 20000*20001/2 {
			t.Fatalf("sum(id) = %d", n)
		}
		// Every shard got its own rows: each node's shard tables hold
		// exactly the rows the catalog's hash ranges give them.
		var total int64
		for i := range c.Nodes {
			total += nodeCount(t, &cluster.DataNodes{Servers: c.Nodes[i : i+1]}, cluster.ShardDatabase,
				"SELECT (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'cp\\_1%')")
		}
		if total != 6 {
			t.Fatalf("%d shard tables, want 6", total)
		}
	})

	t.Run("CSVWithHeaderQuotesAndNulls", func(t *testing.T) {
		csv := "code,label\nA,\"x, \"\"quoted\"\"\"\nB,\"two\nlines\"\nC,\n"
		f := filepath.Join(dir, "ref.csv")
		os.WriteFile(f, []byte(csv), 0o644)
		psqlExpect(t, "\\copy csv", psqlRun(t, c.ClientURL, "-c", "\\copy cp_ref FROM '"+f+"' WITH (FORMAT csv, HEADER)"), "COPY 3\n")
		r := psqlRun(t, c.ClientURL, "-At", "-c", "SELECT code || '=' || coalesce(label, '<null>') FROM cp_ref ORDER BY code")
		psqlExpect(t, "csv rows", r, "A=x, \"quoted\"\nB=two\nlines\nC=<null>\n")
		// A replicated table has every row on every node.
		for i := range c.Nodes {
			if n := nodeCount(t, &cluster.DataNodes{Servers: c.Nodes[i : i+1]}, cluster.ShardDatabase, "SELECT count(*) FROM (SELECT 1 FROM pg_tables WHERE tablename LIKE 'cp\\_ref\\_%') s"); n != 1 {
				t.Fatalf("node %d: %d shard tables of cp_ref", i, n)
			}
		}
	})

	t.Run("BinaryThroughPgx", func(t *testing.T) {
		var rows [][]any
		for i := 0; i < 5000; i++ {
			rows = append(rows, []any{int32(i), fmt.Sprintf("rr %d", i)})
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"cp_rr"}, []string{"v", "note"}, pgx.CopyFromRows(rows))
		if err != nil || n != 5000 {
			t.Fatalf("CopyFrom: %d, %v", n, err)
		}
		if n := count("SELECT count(DISTINCT v) FROM cp_rr"); n != 5000 {
			t.Fatalf("cp_rr: %d distinct values", n)
		}
	})

	t.Run("BadRowFailsWholeCopy", func(t *testing.T) {
		before := count("SELECT count(*) FROM cp")
		var bad strings.Builder
		for i := 1; i <= 3000; i++ {
			score := fmt.Sprint(i)
			if i == 2500 {
				score = "not-a-number"
			}
			fmt.Fprintf(&bad, "%d\trow\t%s\n", 100000+i, score)
		}
		f := filepath.Join(dir, "bad.tsv")
		os.WriteFile(f, []byte(bad.String()), 0o644)
		r := psqlRun(t, c.ClientURL, "-c", "\\copy cp FROM '"+f+"'")
		if r.code == 0 || !strings.Contains(r.stderr, `invalid input syntax for type numeric: "not-a-number"`) ||
			!strings.Contains(r.stderr, "COPY cp, line 2500, column score") {
			t.Fatalf("bad row: exit %d, stderr:\n%s", r.code, r.stderr)
		}
		// A duplicate key on one node and a malformed key fail too.
		for _, input := range []string{"1\tdup\t1\n", "100001\tok\t1\nxyz\tbad\t1\n"} {
			f := filepath.Join(dir, "more.tsv")
			os.WriteFile(f, []byte(input), 0o644)
			if r := psqlRun(t, c.ClientURL, "-c", "\\copy cp FROM '"+f+"'"); r.code == 0 {
				t.Fatalf("%q was loaded", input)
			}
		}
		if n := count("SELECT count(*) FROM cp"); n != before {
			t.Fatalf("%d rows after failed COPYs, want %d: a failed COPY left rows behind", n, before)
		}
		if n := nodeCount(t, &cluster.DataNodes{Servers: c.Nodes}, "postgres", preparedCount); n != 0 {
			t.Fatalf("%d prepared transactions left", n)
		}
	})

	t.Run("InsideTransactionBlock", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cp"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{int64(900001), "tx"}, {int64(900002), "tx"}})); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM cp WHERE name = 'tx'").Scan(&n); err != nil || n != 2 {
			t.Fatalf("own rows in the block: %d, %v", n, err)
		}
		tx.Rollback(ctx)
		if n := count("SELECT count(*) FROM cp WHERE name = 'tx'"); n != 0 {
			t.Fatalf("%d rows after ROLLBACK", n)
		}
	})

	t.Run("CopyOut", func(t *testing.T) {
		r := psqlRun(t, c.ClientURL, "-c", "\\copy cp TO STDOUT")
		if r.code != 0 || strings.Count(r.stdout, "\n") != 20000 || !strings.Contains(r.stdout, "7\tname\\t7\t7.25\n") {
			t.Fatalf("COPY cp TO STDOUT: exit %d, %d lines, stderr %s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
		}
		psqlExpect(t, "COPY (query) CSV", psqlRun(t, c.ClientURL, "-c",
			"\\copy (SELECT id, name, score FROM cp WHERE id IN (1, 2) ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)"),
			"id,name,score\n1,name\t1,1.25\n2,name\t2,2.25\n")
		// Binary out and back in through pgx.
		var buf strings.Builder
		if _, err := conn.PgConn().CopyTo(ctx, &buf, "COPY cp_ref TO STDOUT (FORMAT binary)"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE cp_ref2 (code text PRIMARY KEY, label text)"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(buf.String()), "COPY cp_ref2 FROM STDIN (FORMAT binary)"); err != nil {
			t.Fatal(err)
		}
		if n := count("SELECT count(*) FROM cp_ref2 WHERE label IS NOT DISTINCT FROM (SELECT label FROM cp_ref WHERE code = cp_ref2.code)"); n != 3 {
			t.Fatalf("binary round trip: %d rows equal, want 3", n)
		}
	})
}
