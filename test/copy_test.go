package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
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

// cpTables are the tables of the COPY comparisons, created alike on
// distgres (distributed by hash on a text and an integer key, replicated,
// round robin) and on a stock PostgreSQL.
var cpTables = []struct{ name, create, distribute string }{
	{"cf", "CREATE TABLE cf (k text, v int, note text DEFAULT 'dflt')", " DISTRIBUTE BY HASH(k)"},
	{"ci", "CREATE TABLE ci (id int, v text)", " DISTRIBUTE BY HASH(id)"},
	{"cr", "CREATE TABLE cr (code text PRIMARY KEY, n int)", " DISTRIBUTE BY REPLICATION"},
	{"crr", "CREATE TABLE crr (n int, note text)", " DISTRIBUTE BY ROUNDROBIN"},
}

// cpCase is one COPY statement run on both servers.
type cpCase struct {
	name string
	sql  string
	// input is the data of a COPY FROM STDIN.
	input string
	// sorted: the output of a COPY TO is compared line by line in any
	// order (a table's rows come shard by shard).
	sorted bool
}

// cpResult is what a client sees of a COPY: its tag or error, and the
// data of a COPY TO.
type cpResult struct {
	tag, err, out string
}

func cpRun(ctx context.Context, conn *pgconn.PgConn, c cpCase) cpResult {
	var r cpResult
	var tag pgconn.CommandTag
	var err error
	if strings.Contains(c.sql, "STDIN") {
		tag, err = conn.CopyFrom(ctx, strings.NewReader(c.input), c.sql)
	} else {
		var out bytes.Buffer
		tag, err = conn.CopyTo(ctx, &out, c.sql)
		r.out = out.String()
		if c.sorted {
			lines := strings.SplitAfter(r.out, "\n")
			slices.Sort(lines)
			r.out = strings.Join(lines, "")
		}
	}
	r.tag = tag.String()
	if err != nil {
		r.err = cpError(err)
	}
	return r
}

// cpError shows the fields of an error a client compares.
func cpError(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "not a server error: " + err.Error()
	}
	return fmt.Sprintf("%s %s (position %d, where %q, detail %q, hint %q)", pe.Code, pe.Message, pe.Position, pe.Where, pe.Detail, pe.Hint)
}

// cpContents is a table's rows as sorted text.
func cpContents(t *testing.T, ctx context.Context, conn *pgconn.PgConn, table string) []string {
	t.Helper()
	res, err := conn.Exec(ctx, "SELECT coalesce(quote_literal("+table+"::text), 'NULL') FROM "+table).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	var rows []string
	for _, r := range res[0].Rows {
		rows = append(rows, string(r[0]))
	}
	slices.Sort(rows)
	return rows
}

// cpCheckPlacement asserts that the rows of a table are on the shards
// their keys give: a query routed by a key (to that key's shard only)
// counts every row with the key.
func cpCheckPlacement(t *testing.T, ctx context.Context, conn *pgx.Conn, table, key string) {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT "+key+"::text, count(*) FROM "+table+" WHERE "+key+" IS NOT NULL GROUP BY 1")
	if err != nil {
		t.Fatal(err)
	}
	type keyCount struct {
		Key   string
		Count int64
	}
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[keyCount])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var routed int64
		sql := "SELECT count(*) FROM " + table + " WHERE " + key + " = '" + strings.ReplaceAll(k.Key, "'", "''") + "'"
		if err := conn.QueryRow(ctx, sql).Scan(&routed); err != nil || routed != k.Count {
			t.Errorf("%s: %d rows with key %q, but %d on the shard the key gives (%v)", table, k.Count, k.Key, routed, err)
		}
	}
}

// TestCopyMatchesPostgres runs COPY statements with CSV's FORCE_* options,
// WHERE, binary output of queries and bad options or rows on distgres and
// on a stock PostgreSQL, and compares the tags, errors (code, message,
// position, context), output and the rows left in the tables. Rows loaded
// by distgres must sit on the shards their keys give.
func TestCopyMatchesPostgres(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	ctx := context.Background()
	dist := connect(t, c.ClientURL)
	stock := connect(t, harness.StartPostgres(t))
	for _, tb := range cpTables {
		if _, err := dist.Exec(ctx, tb.create+tb.distribute); err != nil {
			t.Fatal(err)
		}
		if _, err := stock.Exec(ctx, tb.create); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(t *testing.T, c cpCase) {
		t.Helper()
		got, want := cpRun(ctx, dist.PgConn(), c), cpRun(ctx, stock.PgConn(), c)
		t.Logf("%s: tag %q, error %q, output %q", c.sql, got.tag, got.err, got.out)
		if got != want {
			t.Errorf("%s\n got: tag %q, error %q, output %q\nwant: tag %q, error %q, output %q", c.sql, got.tag, got.err, got.out, want.tag, want.err, want.out)
		}
		for _, tb := range cpTables {
			if g, w := cpContents(t, ctx, dist.PgConn(), tb.name), cpContents(t, ctx, stock.PgConn(), tb.name); !slices.Equal(g, w) {
				t.Errorf("%s: table %s holds\n%v\nwant\n%v", c.sql, tb.name, g, w)
			}
		}
	}
	truncate := func(t *testing.T) {
		for _, conn := range []*pgx.Conn{dist, stock} {
			if _, err := conn.Exec(ctx, "TRUNCATE cf, ci, cr, crr"); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Each load starts from empty tables.
	loads := []cpCase{
		{name: "text/where", sql: "COPY cf (k, v) FROM STDIN WHERE v > 1", input: "a\t1\nb\t2\nc\t3\n"},
		{name: "text/where-qualified", sql: "COPY cf (k, v, note) FROM STDIN WHERE cf.v % 2 = 1 AND public.cf.note IS NOT NULL",
			input: "a\t1\tx\nb\t3\t\\N\nc\t5\ty\nd\t6\tz\n"},
		{name: "text/where-whole-row", sql: "COPY cf (k, v) FROM STDIN WHERE row_to_json(cf)->>'k' <> 'b' AND cf.* IS NOT NULL", input: "a\t1\nb\t2\nc\t3\n"},
		{name: "text/where-default-column", sql: "COPY cf (k, v) FROM STDIN WHERE note = 'dflt' AND k <> 'x'", input: "a\t1\nx\t2\n"},
		{name: "text/where-null-key", sql: "COPY cf (k, v) FROM STDIN WHERE k IS NULL OR v > 2", input: "\\N\t1\na\t2\nb\t3\n"},
		{name: "text/where-filters-all", sql: "COPY ci FROM STDIN WHERE false", input: "1\ta\n2\tb\n"},
		{name: "text/where-volatile", sql: "COPY ci FROM STDIN WHERE random() < 2", input: "1\ta\n2\tb\n"},
		{name: "text/key-with-spaces", sql: "COPY ci FROM STDIN", input: " 7\ta\n8 \tb\n"},
		{name: "text/where-replicated", sql: "COPY cr FROM STDIN WHERE n > 1 AND cr.code <> 'c'", input: "a\t1\nb\t2\nc\t3\nd\t4\n"},
		{name: "text/where-round-robin", sql: "COPY crr FROM STDIN WHERE n % 2 = 0", input: "1\ta\n2\tb\n3\tc\n4\td\n6\te\n"},
		{name: "csv/force-not-null-replicated", sql: "COPY cr FROM STDIN (FORMAT csv, FORCE_NOT_NULL (code))", input: ",1\n\"x\",2\n"},
		{name: "bad/duplicate-key-replicated", sql: "COPY cr FROM STDIN", input: "a\t1\nb\t2\na\t3\n"},
		{name: "csv/force-not-null", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (k))", input: ",1\n\"\",2\nx,3\n"},
		{name: "csv/force-not-null-old-style", sql: "COPY cf (k, v, note) FROM STDIN CSV FORCE NOT NULL k, note", input: ",1,\n\"\",2,\"\"\nx,3,y\n"},
		{name: "csv/force-null", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NULL (k))", input: ",4\n\"\",5\nx,6\n"},
		{name: "csv/force-null-and-not-null", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NULL (k), FORCE_NOT_NULL (k))", input: ",7\n\"\",8\n"},
		{name: "csv/force-null-custom-null", sql: "COPY cf FROM STDIN (FORMAT csv, NULL 'N', FORCE_NULL (k, note))", input: "N,10,N\n\"N\",11,\"N\"\nM,12,\"x\"\n"},
		{name: "csv/force-not-null-custom-null", sql: "COPY cf FROM STDIN (FORMAT csv, NULL 'N', FORCE_NOT_NULL (k))", input: "N,10,N\n\"N\",11,\"N\"\n"},
		{name: "csv/force-null-with-where", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NULL (k)) WHERE k IS NOT NULL", input: ",1\n\"\",2\nx,3\n"},
		{name: "csv/force-not-null-with-header", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, HEADER, FORCE_NOT_NULL (k))", input: "k,v\n,1\n"},
		{name: "csv/quotes-inside-key", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv)", input: "a\"b,c\"d,1\n\"x\"\"y\",2\n"},
		{name: "csv/escape-inside-key", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, ESCAPE '\\')", input: "\"a\\\"b\",1\n\"c\\\\d\",2\n\"e\\f\",3\n"},
		// Bad rows fail the whole COPY with PostgreSQL's error.
		{name: "bad/force-not-null-integer-key", sql: "COPY ci FROM STDIN (FORMAT csv, FORCE_NOT_NULL (id))", input: "1,a\n,b\n"},
		{name: "bad/key", sql: "COPY ci FROM STDIN", input: "1\ta\n2\tb\nxyz\tc\n"},
		{name: "bad/key-filtered-by-where", sql: "COPY ci FROM STDIN WHERE id > 100", input: "1\ta\nzz\tb\n"},
		{name: "bad/value", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv)", input: "a,1\nb,x\n"},
		{name: "bad/value-with-where", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv) WHERE v > 1", input: "a,1\nb,2\nc,x\n"},
		{name: "bad/where-division-by-zero", sql: "COPY ci FROM STDIN WHERE 1 / (id - 2) > 0", input: "1\ta\n2\tb\n"},
	}
	for _, c := range loads {
		t.Run("load/"+c.name, func(t *testing.T) {
			truncate(t)
			compare(t, c)
			cpCheckPlacement(t, ctx, dist, "cf", "k")
			cpCheckPlacement(t, ctx, dist, "ci", "id")
		})
	}
	// A COPY that fails its checks in a transaction block, then one after
	// ROLLBACK TO SAVEPOINT; FREEZE after TRUNCATE in the block (pgbench -i).
	t.Run("load/in-block", func(t *testing.T) {
		truncate(t)
		for _, conn := range []*pgx.Conn{dist, stock} {
			for _, step := range []cpCase{
				{sql: "BEGIN"}, {sql: "SAVEPOINT s"},
				{sql: "COPY cf FROM STDIN WHERE nosuch", input: "a\t1\n"},
				{sql: "ROLLBACK TO SAVEPOINT s"},
				{sql: "COPY ci FROM STDIN (FORMAT csv) WHERE id < 3", input: "1,a\n2,b\n3,c\n"},
				{sql: "TRUNCATE cf"},
				{sql: "COPY cf (k, v) FROM STDIN (FREEZE)", input: "x\t1\n"},
				{sql: "COMMIT"},
			} {
				if step.input == "" {
					if _, err := conn.Exec(ctx, step.sql); err != nil {
						t.Fatalf("%s: %v", step.sql, err)
					}
					continue
				}
				r := cpRun(ctx, conn.PgConn(), step)
				if (r.err != "") != strings.Contains(step.sql, "nosuch") {
					t.Fatalf("%s: %+v", step.sql, r)
				}
			}
		}
		compare(t, cpCase{sql: "COPY (SELECT 1) TO STDOUT"})
	})
	if n := nodeCount(t, &cluster.DataNodes{Servers: c.Nodes}, "postgres", preparedCount); n != 0 {
		t.Fatalf("%d prepared transactions left", n)
	}

	// The other cases read, or fail before reading data.
	truncate(t)
	for _, conn := range []*pgx.Conn{dist, stock} {
		for _, sql := range []string{
			"INSERT INTO cf VALUES ('a', 1, 'x'), ('b,c', 2, NULL), ('', 3, 'say \"hi\"'), (NULL, 4, ''), ('N', 5, 'multi word')",
			"INSERT INTO ci VALUES (1, 'one'), (2, NULL), (3, '')",
		} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	const q = "SELECT k, v, note FROM cf ORDER BY v"
	reads := []cpCase{
		{name: "force-quote/table", sql: "COPY cf TO STDOUT (FORMAT csv, FORCE_QUOTE (k))", sorted: true},
		{name: "force-quote/table-all", sql: "COPY cf (v, note) TO STDOUT (FORMAT csv, FORCE_QUOTE *)", sorted: true},
		{name: "force-quote/table-old-style", sql: "COPY cf TO STDOUT CSV FORCE QUOTE k, note", sorted: true},
		{name: "force-quote/query", sql: "COPY (" + q + ") TO STDOUT (FORMAT csv, FORCE_QUOTE (k, note), HEADER)"},
		{name: "force-quote/query-all", sql: "COPY (" + q + ") TO STDOUT (FORMAT csv, FORCE_QUOTE *, NULL 'N', DELIMITER ';')"},
		{name: "force-quote/query-old-style", sql: "COPY (" + q + ") TO STDOUT CSV HEADER FORCE QUOTE *"},
		{name: "force-quote/query-duplicate-names", sql: "COPY (SELECT v AS x, k AS x FROM cf ORDER BY v) TO STDOUT (FORMAT csv, FORCE_QUOTE (x))"},
		{name: "force-quote/query-escape", sql: "COPY (" + q + ") TO STDOUT (FORMAT csv, QUOTE '''', ESCAPE '!', FORCE_QUOTE (note))"},
		{name: "csv/end-marker-value", sql: `COPY (SELECT '\.' AS x) TO STDOUT (FORMAT csv)`},
		{name: "csv/end-marker-value-two-columns", sql: `COPY (SELECT '\.' AS x, 1 AS y) TO STDOUT (FORMAT csv)`},
		{name: "text/query", sql: "COPY (" + q + ") TO STDOUT (NULL 'nil', HEADER)"},
		{name: "binary/query", sql: "COPY (" + q + ") TO STDOUT (FORMAT binary)"},
		{name: "binary/query-types", sql: "COPY (SELECT v, v > 2 AS b, v::bigint * 1000000000 AS big, v::float8 / 3 AS f, k::bytea AS raw, note FROM cf ORDER BY v) TO STDOUT (FORMAT binary)"},
		{name: "binary/query-routed", sql: "COPY (SELECT id, v FROM ci WHERE id = 1) TO STDOUT (FORMAT binary)"},
		{name: "binary/query-aggregate", sql: "COPY (SELECT count(*), sum(v), max(k) FROM cf) TO STDOUT (FORMAT binary)"},
		{name: "binary/query-no-rows", sql: "COPY (SELECT id FROM ci WHERE id < 0) TO STDOUT (FORMAT binary)"},
		{name: "binary/query-old-style", sql: "COPY (SELECT id FROM ci ORDER BY id) TO STDOUT BINARY"},
	}
	for _, c := range reads {
		t.Run("read/"+c.name, func(t *testing.T) { compare(t, c) })
	}

	// Errors before any data moves. Options are checked alike for a
	// table (to and from) and a query.
	errs := []cpCase{
		{name: "where/subquery", sql: "COPY cf FROM STDIN WHERE k = (SELECT 'x')"},
		{name: "where/aggregate", sql: "COPY cf FROM STDIN WHERE count(*) > 1"},
		{name: "where/window", sql: "COPY cf FROM STDIN WHERE row_number() OVER () > 1"},
		{name: "where/set-returning", sql: "COPY cf FROM STDIN WHERE generate_series(1, 2) > 1"},
		{name: "where/not-boolean", sql: "COPY cf FROM STDIN WHERE v"},
		{name: "where/unknown-column", sql: "COPY cf FROM STDIN WHERE nosuch > 1"},
		{name: "where/other-table", sql: "COPY cf FROM STDIN WHERE ci.id = 1"},
		{name: "where/parameter", sql: "COPY cf FROM STDIN WHERE v > $1"},
		{name: "where/copy-to", sql: "COPY cf TO STDOUT WHERE v > 1"},
		{name: "where/before-options", sql: "COPY cf FROM STDIN (FORMAT csv, FORCE_QUOTE (k)) WHERE nosuch"},
		{name: "force/unknown-column-to", sql: "COPY cf TO STDOUT (FORMAT csv, FORCE_QUOTE (nosuch))"},
		{name: "force/unlisted-column-to", sql: "COPY cf (v) TO STDOUT (FORMAT csv, FORCE_QUOTE (k))"},
		{name: "force/unknown-column-from", sql: "COPY cf FROM STDIN (FORMAT csv, FORCE_NULL (nosuch))"},
		{name: "force/unlisted-column-from", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NULL (note))"},
		{name: "force/unlisted-column-not-null", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (note))"},
		{name: "force/duplicate-column", sql: "COPY cf (k, v) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (k, k))"},
		{name: "force/unknown-before-unlisted", sql: "COPY cf (k) FROM STDIN (FORMAT csv, FORCE_NULL (v, nosuch))"},
		{name: "force/query-unknown-column", sql: "COPY (" + q + ") TO STDOUT (FORMAT csv, FORCE_QUOTE (nosuch))"},
		{name: "force/query-duplicate-column", sql: "COPY (" + q + ") TO STDOUT (FORMAT csv, FORCE_QUOTE (v, k, v))"},
		{name: "force/query-bad-query", sql: "COPY (SELECT nosuch FROM cf) TO STDOUT (FORMAT csv, FORCE_QUOTE (nosuch))"},
		{name: "force/query-options-before-query", sql: "COPY (SELECT nosuch FROM cf) TO STDOUT (FORCE_QUOTE (nosuch))"},
	}
	for _, opts := range []string{
		"FORCE_QUOTE (k)", "FORMAT binary, FORCE_QUOTE (k)", "FORMAT csv, FORCE_QUOTE 1", "FORMAT csv, FORCE_QUOTE 'k'", "FORCE_QUOTE",
		"FORMAT csv, FORCE_QUOTE (k), FORCE_QUOTE (v)", "FORMAT csv, FORCE_QUOTE *, FORCE_QUOTE (k)",
		"FORCE_NOT_NULL (k)", "FORMAT csv, FORCE_NOT_NULL (k)", "FORMAT csv, FORCE_NOT_NULL *", "FORMAT csv, FORCE_NOT_NULL (k), FORCE_NOT_NULL (v)",
		"FORCE_NULL (k)", "FORMAT binary, FORCE_NULL (k)", "FORMAT csv, FORCE_NULL (k)", "FORMAT csv, FORCE_NULL *", "FORMAT csv, FORCE_NULL",
		"FORMAT csv, FORMAT text", "FORMAT xml", "FORMAT 'CSV'", "FORMAT 1", "FORMAT", "FORMAT (a, b)",
		"FREEZE, FREEZE", "FREEZE maybe", "FREEZE 2", "FREEZE off",
		"DELIMITER ',', DELIMITER ';'", "DELIMITER", "DELIMITER 'ab'", "DELIMITER E'\\n'", "DELIMITER 'a'", "DELIMITER '\\'", "FORMAT csv, DELIMITER 'a'",
		"NULL 'a', NULL 'b'", "NULL E'a\\rb'", "DELIMITER ',', NULL 'a,b'", "FORMAT csv, NULL 'a\"b'",
		"HEADER, HEADER", "HEADER match", "HEADER 2", "HEADER maybe", "HEADER 1.5", "HEADER off", "FORMAT binary, HEADER",
		"QUOTE 'x'", "FORMAT csv, QUOTE 'xy'", "FORMAT csv, QUOTE ','", "FORMAT csv, QUOTE ''", "FORMAT csv, QUOTE 1",
		"ESCAPE 'x'", "FORMAT csv, ESCAPE ''", "FORMAT csv, ESCAPE 'a', ESCAPE 'b'",
		"FORMAT binary, DELIMITER ','", "FORMAT binary, NULL 'x'", "BOGUS 1", "FORMAT csv, DELIMITER '|', QUOTE '|'",
	} {
		errs = append(errs,
			cpCase{name: "options/from/" + opts, sql: "COPY cf FROM STDIN (" + opts + ")"},
			cpCase{name: "options/to/" + opts, sql: "COPY cf TO STDOUT (" + opts + ")", sorted: true},
			cpCase{name: "options/query/" + opts, sql: "COPY (SELECT k, v FROM cf WHERE v = 1) TO STDOUT (" + opts + ")"})
	}
	for _, c := range errs {
		t.Run("check/"+c.name, func(t *testing.T) { compare(t, c) })
	}
}

// cpRaw is a client speaking the protocol message by message.
type cpRaw struct {
	t    *testing.T
	conn net.Conn
	fe   *pgproto3.Frontend
}

func cpDial(t *testing.T, addr string) *cpRaw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	// An upper bound against hangs, not a performance assertion.
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { conn.Close() })
	r := &cpRaw{t: t, conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
	r.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "postgres", "database": "postgres"}})
	if got := r.until("Z"); got[len(got)-1] != "Z:I" {
		t.Fatalf("startup: %v", got)
	}
	return r
}

func (r *cpRaw) send(msgs ...pgproto3.FrontendMessage) {
	r.t.Helper()
	for _, m := range msgs {
		r.fe.Send(m)
	}
	if err := r.fe.Flush(); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// until reads messages up to the first whose summary starts with stop.
// Consecutive CopyData messages are merged into one, with their lines
// sorted: a table's rows come shard by shard, and PostgreSQL does not
// promise how it cuts data into messages.
func (r *cpRaw) until(stop string) []string {
	r.t.Helper()
	var got []string
	var data []string
	for {
		msg, err := r.fe.Receive()
		if err != nil {
			r.t.Fatalf("receive after %v: %v", got, err)
		}
		if d, ok := msg.(*pgproto3.CopyData); ok {
			data = append(data, strings.SplitAfter(string(d.Data), "\n")...)
			continue
		}
		if data != nil {
			slices.Sort(data)
			got = append(got, fmt.Sprintf("CopyData %q", strings.Join(data, "")))
			data = nil
		}
		s := cpSummary(msg)
		if s == "" {
			continue
		}
		got = append(got, s)
		if strings.HasPrefix(s, stop) {
			return got
		}
	}
}

// cpSummary shows a backend message with what must match PostgreSQL's
// ("" for messages that differ between servers by nature).
func cpSummary(msg pgproto3.BackendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.ParameterStatus, *pgproto3.BackendKeyData, *pgproto3.AuthenticationOk, *pgproto3.NoticeResponse:
		return ""
	case *pgproto3.ErrorResponse:
		return fmt.Sprintf("Error %s %s (position %d, where %q)", m.Code, m.Message, m.Position, m.Where)
	case *pgproto3.ReadyForQuery:
		return "Z:" + string(m.TxStatus)
	case *pgproto3.ParameterDescription:
		return fmt.Sprintf("ParameterDescription %v", m.ParameterOIDs)
	case *pgproto3.RowDescription:
		var names []string
		for _, f := range m.Fields {
			names = append(names, fmt.Sprintf("%s:%d", f.Name, f.DataTypeOID))
		}
		return "RowDescription " + strings.Join(names, ",")
	case *pgproto3.DataRow:
		vals := make([]string, len(m.Values))
		for i, v := range m.Values {
			vals[i] = string(v)
		}
		return "DataRow " + strings.Join(vals, ",")
	case *pgproto3.CommandComplete:
		return "CommandComplete " + string(m.CommandTag)
	case *pgproto3.CopyInResponse:
		return fmt.Sprintf("CopyInResponse %d %v", m.OverallFormat, m.ColumnFormatCodes)
	case *pgproto3.CopyOutResponse:
		return fmt.Sprintf("CopyOutResponse %d %v", m.OverallFormat, m.ColumnFormatCodes)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
}

// cpStep is what a client sends, then the message it reads up to ("" to
// read nothing).
type cpStep struct {
	send  []pgproto3.FrontendMessage
	until string
}

// cpExchange is a conversation of the extended-protocol COPY test.
type cpExchange struct {
	name  string
	steps []cpStep
}

func cpCopyData(s string) *pgproto3.CopyData { return &pgproto3.CopyData{Data: []byte(s)} }

// TestCopyExtendedProtocol runs COPY FROM STDIN and TO STDOUT through
// Parse, Bind, Describe and Execute on distgres and on a stock PostgreSQL,
// message by message, and compares every message that comes back: copy-in
// (Flush and Sync ignored during it), copy-out, errors at Execute and in
// the middle of the data (messages are then skipped up to Sync, and the
// connection serves the next query), CopyFail, and the row counts.
func TestCopyExtendedProtocol(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	ctx := context.Background()
	stockURL := harness.StartPostgres(t)
	u, err := url.Parse(stockURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{c.ClientURL, stockURL} {
		conn := connect(t, url)
		for i, tb := range cpTables {
			sql := tb.create
			if url == c.ClientURL {
				sql += cpTables[i].distribute
			}
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	dist, stock := cpDial(t, c.Addr.String()), cpDial(t, u.Host)

	parse := func(sql string) *pgproto3.Parse { return &pgproto3.Parse{Query: sql} }
	bind := &pgproto3.Bind{}
	describe := &pgproto3.Describe{ObjectType: 'P'}
	execute := &pgproto3.Execute{}
	sync, flush := &pgproto3.Sync{}, &pgproto3.Flush{}
	count := cpStep{[]pgproto3.FrontendMessage{&pgproto3.Query{String: "SELECT count(*), sum(id), string_agg(v, ',' ORDER BY id) FROM ci"}}, "Z"}
	var binaryRows bytes.Buffer
	binaryRows.Write(cpBinaryHeader)
	for _, id := range []int32{20, 21} {
		binaryRows.Write(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 2), 4), uint32(id)))
		binaryRows.Write(append(binary.BigEndian.AppendUint32(nil, 1), 'b'))
	}
	binaryRows.Write([]byte{0xff, 0xff})

	exchanges := []cpExchange{
		{"copy-in", []cpStep{
			// As libpq does: Sync right after Execute, read during copy-in
			// and ignored, like Flush.
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN"), bind, describe, execute, sync}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("1\ta\n2\t"), flush, cpCopyData("b\n3\tc\n"), sync, cpCopyData("4\td"), &pgproto3.CopyDone{}, sync}, "Z"},
			count,
		}},
		{"copy-in-csv-force-null", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN (FORMAT csv, FORCE_NULL (v)) WHERE id > 5"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("5,x\n6,\"\"\n7,y\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			count,
		}},
		{"copy-in-binary", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN (FORMAT binary)"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData(binaryRows.String()), &pgproto3.CopyDone{}, sync}, "Z"},
			count,
		}},
		{"error-bad-key-mid-copy", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("30\ta\n31\tb\n"), cpCopyData("32\tc\nbad\td\n"), cpCopyData("33\te\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			count,
		}},
		{"error-bad-value-mid-copy", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY cf (k, v) FROM STDIN"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("a\t1\nb\t2\nc\tnot a number\nd\t4\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			{[]pgproto3.FrontendMessage{&pgproto3.Query{String: "SELECT count(*) FROM cf"}}, "Z"},
		}},
		{"copy-fail", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("40\ta\n41\t"), &pgproto3.CopyFail{Message: "client gave up"}, cpCopyData("42\tz\n"), sync}, "Z"},
			count,
		}},
		{"error-at-execute", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN (FORMAT csv, FORCE_QUOTE (id))"), bind, describe, execute, cpCopyData("50\ta\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			count,
		}},
		{"error-where-at-execute", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN WHERE id > $1"), bind, execute, sync}, "Z"},
			count,
		}},
		{"describe-statement", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN"), &pgproto3.Describe{ObjectType: 'S'}, sync}, "Z"},
		}},
		{"copy-out-query", []cpStep{
			// Execute's row limit does not apply to COPY.
			{[]pgproto3.FrontendMessage{parse("COPY (SELECT id, v FROM ci ORDER BY id) TO STDOUT (FORMAT csv, FORCE_QUOTE *, HEADER)"), bind, describe,
				&pgproto3.Execute{MaxRows: 1}, sync}, "Z"},
		}},
		{"copy-out-table", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY ci TO STDOUT"), bind, describe, execute, sync}, "Z"},
		}},
		{"copy-out-binary-query", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY (SELECT id, v FROM ci ORDER BY id) TO STDOUT (FORMAT binary)"), bind, execute, sync}, "Z"},
		}},
		{"portal-runs-once", []cpStep{
			{[]pgproto3.FrontendMessage{parse("COPY (SELECT 1 AS one) TO STDOUT"), bind, execute, execute, sync}, "Z"},
		}},
		{"named-statement-twice", []cpStep{
			{[]pgproto3.FrontendMessage{&pgproto3.Parse{Name: "cp", Query: "COPY ci FROM STDIN"}, &pgproto3.Bind{PreparedStatement: "cp"}, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("60\ta\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			{[]pgproto3.FrontendMessage{&pgproto3.Bind{PreparedStatement: "cp"}, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("61\tb\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			{[]pgproto3.FrontendMessage{&pgproto3.Close{ObjectType: 'S', Name: "cp"}, sync}, "Z"},
			count,
		}},
		{"in-transaction-block", []cpStep{
			{[]pgproto3.FrontendMessage{&pgproto3.Query{String: "BEGIN"}}, "Z"},
			{[]pgproto3.FrontendMessage{parse("COPY ci FROM STDIN"), bind, execute, flush}, "CopyInResponse"},
			{[]pgproto3.FrontendMessage{cpCopyData("70\ta\nx\tb\n"), &pgproto3.CopyDone{}, sync}, "Z"},
			{[]pgproto3.FrontendMessage{parse("SELECT 1"), bind, execute, sync}, "Z"},
			{[]pgproto3.FrontendMessage{&pgproto3.Query{String: "ROLLBACK"}}, "Z"},
			count,
		}},
	}
	for _, x := range exchanges {
		t.Run(x.name, func(t *testing.T) {
			for i, step := range x.steps {
				var got, want []string
				for _, side := range []struct {
					raw *cpRaw
					out *[]string
				}{{dist, &got}, {stock, &want}} {
					side.raw.t = t
					side.raw.send(step.send...)
					*side.out = side.raw.until(step.until)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("step %d:\n got: %q\nwant: %q", i+1, got, want)
				}
				t.Logf("step %d: %q", i+1, got)
			}
		})
	}
	if n := nodeCount(t, &cluster.DataNodes{Servers: c.Nodes}, "postgres", preparedCount); n != 0 {
		t.Fatalf("%d prepared transactions left", n)
	}
}

// cpBinaryHeader starts COPY's binary format: signature, flags, extension.
var cpBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
