package test

// End-to-end tests with psql, run as a subprocess against the coordinator:
// meta-commands (\d, \dt, \di) answered from the shell database, settings,
// multi-statement simple queries and errors. Expected outputs were checked
// against a stock PostgreSQL 15 with the same scripts.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
)

// psqlResult is one run of psql.
type psqlResult struct {
	stdout, stderr string
	code           int
}

// psqlRun runs psql -X -v ON_ERROR_STOP=1 with args against url, with an
// upper bound on its run time, in the C locale and without PG*
// environment variables.
func psqlRun(t *testing.T, url string, args ...string) psqlResult {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql is required: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-d", harness.URL(url)}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") || strings.HasPrefix(kv, "PSQL") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "LC_ALL=C", "PGCONNECT_TIMEOUT=10", "PAGER=", "PSQL_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("psql %q did not finish within 30s (stdout %q, stderr %q)", args, stdout.String(), stderr.String())
	}
	res := psqlResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("psql %q: %v", args, err)
	}
	return res
}

// psqlScript writes a script file and returns its path.
func psqlScript(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// psqlExpect fails unless psql exited 0 with exactly stdout want and
// nothing on stderr.
func psqlExpect(t *testing.T, what string, r psqlResult, want string) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Errorf("%s: exit code %d, stderr:\n%s", what, r.code, r.stderr)
	}
	if r.stdout != want {
		t.Errorf("%s: stdout:\n%s\nwant:\n%s", what, r.stdout, want)
	}
}

// psqlShardNameRE matches shard table and index names such as t_102008 or
// t_102008_pkey.
var psqlShardNameRE = regexp.MustCompile(`(items|tags)_[0-9]+`)

func TestPsql(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	url := c.ClientURL

	t.Run("Script", func(t *testing.T) {
		script := psqlScript(t, "setup.sql", `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), added date);
CREATE TABLE tags (tag text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
CREATE INDEX items_name_idx ON items (name);
INSERT INTO items VALUES (1, 'apple', 1.50, '2024-03-05'), (2, 'pear', 2.25, '2024-12-31'), (3, 'plum', NULL, NULL),
  (4, 'fig', 0.99, '2023-01-01'), (5, 'kiwi', 3.10, '2025-07-14'), (6, 'lime', 0.45, '2024-02-29');
INSERT INTO tags VALUES ('fruit', 'Fruit'), ('veg', NULL);
SELECT count(*) FROM items;
SELECT name, price FROM items WHERE id = 2;
SELECT id, name FROM items ORDER BY price DESC NULLS LAST, id LIMIT 3;
SELECT tag, coalesce(label, '-') FROM tags ORDER BY tag;
`)
		psqlExpect(t, "setup script", psqlRun(t, url, "-At", "-f", script), `CREATE TABLE
CREATE TABLE
CREATE INDEX
INSERT 0 6
INSERT 0 2
6
pear|2.25
5|kiwi
2|pear
1|apple
fruit|Fruit
veg|-
`)
		// Every item is stored on exactly one data node and each node holds
		// some.
		total := 0
		for i := range c.Nodes {
			r := psqlRun(t, c.ShardURL(i), "-At", "-c", `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename ~ '^items_[0-9]+$'`)
			if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
				t.Fatalf("node %d has no items shards: %q %q", i, r.stdout, r.stderr)
			}
			var q []string
			for _, sh := range strings.Split(strings.TrimSpace(r.stdout), ",") {
				q = append(q, "(SELECT count(*) FROM "+sh+")")
			}
			r = psqlRun(t, c.ShardURL(i), "-At", "-c", "SELECT "+strings.Join(q, " + "))
			n := strings.TrimSpace(r.stdout)
			if r.code != 0 || n == "" {
				t.Fatalf("node %d: counting shard rows: %q %q", i, r.stdout, r.stderr)
			}
			k, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("node %d: shard row count %q: %v", i, n, err)
			}
			total += k
		}
		if total != 6 {
			t.Errorf("items rows in all shards = %d, want 6", total)
		}
	})

	t.Run("Describe", func(t *testing.T) {
		psqlExpect(t, `\d`, psqlRun(t, url, "-At", "-c", `\d`), "public|items|table|postgres\npublic|tags|table|postgres\n")
		psqlExpect(t, `\dt`, psqlRun(t, url, "-At", "-c", `\dt`), "public|items|table|postgres\npublic|tags|table|postgres\n")
		psqlExpect(t, `\di`, psqlRun(t, url, "-At", "-c", `\di`), `public|items_name_idx|index|postgres|items
public|items_pkey|index|postgres|items
public|tags_pkey|index|postgres|tags
`)
		psqlExpect(t, `\d items`, psqlRun(t, url, "-c", `\d items`), `                  Table "public.items"
 Column |     Type      | Collation | Nullable | Default 
--------+---------------+-----------+----------+---------
 id     | integer       |           | not null | 
 name   | text          |           | not null | 
 price  | numeric(10,2) |           |          | 
 added  | date          |           |          | 
Indexes:
    "items_pkey" PRIMARY KEY, btree (id)
    "items_name_idx" btree (name)

`)
		psqlExpect(t, `\d tags`, psqlRun(t, url, "-c", `\d tags`), `              Table "public.tags"
 Column | Type | Collation | Nullable | Default 
--------+------+-----------+----------+---------
 tag    | text |           | not null | 
 label  | text |           |          | 
Indexes:
    "tags_pkey" PRIMARY KEY, btree (tag)

`)
		// Shard tables exist on the data nodes but never show through the
		// coordinator.
		r := psqlRun(t, c.ShardURL(0), "-At", "-c", `\dt`)
		if r.code != 0 || !psqlShardNameRE.MatchString(r.stdout) {
			t.Fatalf(`\dt on the shard database of node 0 shows no shard tables: %q %q`, r.stdout, r.stderr)
		}
		for _, cmd := range []string{`\d`, `\dt`, `\di`, `\dt *.*`, `\d items*`, `\dt items_*`} {
			r := psqlRun(t, url, "-At", "-c", cmd)
			if r.code != 0 || psqlShardNameRE.MatchString(r.stdout) {
				t.Errorf("%s through the coordinator (exit %d) shows a shard name:\n%s%s", cmd, r.code, r.stdout, r.stderr)
			}
		}
		r = psqlRun(t, url, "-c", `\d items_102008`)
		if r.code != 1 || r.stdout != "" || r.stderr != "Did not find any relation named \"items_102008\".\n" {
			t.Errorf(`\d items_102008: exit %d, stdout %q, stderr %q; want exit 1 and "Did not find any relation named"`, r.code, r.stdout, r.stderr)
		}
	})

	t.Run("IndexAndAlter", func(t *testing.T) {
		psqlExpect(t, "create index, alter table", psqlRun(t, url, "-At",
			"-c", "CREATE INDEX items_added_idx ON items (added DESC)",
			"-c", "ALTER TABLE items ADD COLUMN qty int DEFAULT 0",
			"-c", "DROP INDEX items_name_idx"),
			"CREATE INDEX\nALTER TABLE\nDROP INDEX\n")
		psqlExpect(t, `\d items after CREATE INDEX`, psqlRun(t, url, "-c", `\d items`), `                  Table "public.items"
 Column |     Type      | Collation | Nullable | Default 
--------+---------------+-----------+----------+---------
 id     | integer       |           | not null | 
 name   | text          |           | not null | 
 price  | numeric(10,2) |           |          | 
 added  | date          |           |          | 
 qty    | integer       |           |          | 0
Indexes:
    "items_pkey" PRIMARY KEY, btree (id)
    "items_added_idx" btree (added DESC)

`)
		psqlExpect(t, "default of the new column", psqlRun(t, url, "-At", "-c", "SELECT sum(qty), count(*) FROM items"), "0|6\n")
		// The index exists on every shard of every node.
		for i := range c.Nodes {
			r := psqlRun(t, c.ShardURL(i), "-At", "-c", `SELECT count(*) FILTER (WHERE indexdef LIKE '%(added DESC)'), count(*) FILTER (WHERE indexdef LIKE '%(name)')
				FROM pg_indexes WHERE tablename ~ '^items_[0-9]+$'`)
			shards := psqlRun(t, c.ShardURL(i), "-At", "-c", `SELECT count(*) FROM pg_tables WHERE tablename ~ '^items_[0-9]+$'`)
			if want := strings.TrimSpace(shards.stdout) + "|0\n"; r.code != 0 || r.stdout != want {
				t.Errorf("node %d: shards with the new index | with the dropped one = %q, want %q (%s)", i, r.stdout, want, r.stderr)
			}
		}
	})

	t.Run("SetAndShow", func(t *testing.T) {
		psqlExpect(t, "SET datestyle", psqlRun(t, url, "-At",
			"-c", "SET datestyle = 'SQL, DMY'",
			"-c", "SELECT date '2024-03-05'",
			"-c", "SELECT added FROM items WHERE id = 1",
			"-c", "SELECT id, added FROM items WHERE id <= 3 ORDER BY id",
			"-c", "SELECT max(added), min(added) FROM items"),
			"SET\n05/03/2024\n05/03/2024\n1|05/03/2024\n2|31/12/2024\n3|\n14/07/2025|01/01/2023\n")
		// Rows from many shards merge in date order, not in the order of
		// their text under this DateStyle.
		psqlExpect(t, "ORDER BY a date under SQL, DMY", psqlRun(t, url, "-At",
			"-c", "SET datestyle = 'SQL, DMY'",
			"-c", "SELECT id, added FROM items ORDER BY added, id"),
			"SET\n4|01/01/2023\n6|29/02/2024\n1|05/03/2024\n2|31/12/2024\n5|14/07/2025\n3|\n")
		// A new session starts from the defaults again (no setting leaks
		// through pooled data-node connections).
		psqlExpect(t, "datestyle of a new session", psqlRun(t, url, "-At",
			"-c", "SELECT added FROM items WHERE id = 1",
			"-c", "SELECT id, added FROM items WHERE id <= 2 ORDER BY id"),
			"2024-03-05\n1|2024-03-05\n2|2024-12-31\n")
		psqlExpect(t, "SET timezone", psqlRun(t, url, "-At",
			"-c", "SET timezone = 'Asia/Tokyo'; SELECT timestamptz '2024-03-05 12:00:00+00'",
			"-c", "SELECT (added::timestamp AT TIME ZONE 'UTC')::text FROM items WHERE id = 1"),
			"SET\n2024-03-05 21:00:00+09\n2024-03-05 09:00:00+09\n")
		psqlExpect(t, "distgres.default_distribution", psqlRun(t, url, "-At",
			"-c", "SHOW distgres.default_distribution",
			"-c", "SET distgres.default_distribution = 'replication'",
			"-c", "SHOW distgres.default_distribution",
			"-c", "RESET distgres.default_distribution",
			"-c", "SHOW distgres.default_distribution"),
			"default\nSET\nreplication\nRESET\ndefault\n")
		r := psqlRun(t, url, "-At", "-c", "SET distgres.default_distribution = 'sideways'")
		if r.code != 1 || !strings.Contains(r.stderr, `ERROR:  invalid value for parameter "distgres.default_distribution"`) {
			t.Errorf("SET to an invalid value: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	// SHOW of a PostgreSQL setting returns one row named after it.
	t.Run("ShowPostgresSetting", func(t *testing.T) {
		psqlExpect(t, "SHOW datestyle", psqlRun(t, url, "-At",
			"-c", "SHOW datestyle",
			"-c", "SET datestyle = 'SQL, DMY'",
			"-c", "SHOW datestyle"),
			"ISO, MDY\nSET\nSQL, DMY\n")
		psqlExpect(t, "SHOW with header", psqlRun(t, url, "-c", "SHOW standard_conforming_strings"),
			" standard_conforming_strings \n-----------------------------\n on\n(1 row)\n\n")
	})

	t.Run("VersionAndSelectOne", func(t *testing.T) {
		node := psqlRun(t, c.NodeURL(0), "-At", "-c", "SELECT version()")
		if node.code != 0 || !strings.HasPrefix(node.stdout, "PostgreSQL 15") {
			t.Fatalf("version() on data node 0: %q %q", node.stdout, node.stderr)
		}
		psqlExpect(t, "SELECT version()", psqlRun(t, url, "-At", "-c", "SELECT version()"), node.stdout)
		psqlExpect(t, "SELECT 1", psqlRun(t, url, "-At", "-c", "SELECT 1"), "1\n")
		psqlExpect(t, "SELECT 1 aligned", psqlRun(t, url, "-c", "SELECT 1"), " ?column? \n----------\n        1\n(1 row)\n\n")
	})

	t.Run("MultiStatementString", func(t *testing.T) {
		psqlExpect(t, "several statements in one -c", psqlRun(t, url, "-At", "-c",
			"SELECT 1; SELECT 2; SELECT count(*) FROM items; SELECT name FROM items WHERE id = 2"),
			"1\n2\n6\npear\n")
		psqlExpect(t, "DML and queries in one -c", psqlRun(t, url, "-At", "-c",
			"INSERT INTO items (id, name) VALUES (7, 'date'); UPDATE items SET price = 9.99 WHERE id = 7; SELECT name, price FROM items WHERE id = 7; DELETE FROM items WHERE id = 7; SELECT count(*) FROM items"),
			"INSERT 0 1\nUPDATE 1\ndate|9.99\nDELETE 1\n6\n")
		// A multi-statement string is one implicit transaction in
		// PostgreSQL: an error rolls back the statements before it.
		r := psqlRun(t, url, "-At", "-c", "INSERT INTO items (id, name) VALUES (8, 'yuzu'); SELECT 1/0")
		if r.code != 1 || r.stderr != "ERROR:  division by zero\n" {
			t.Errorf("failing multi-statement string: exit %d, stderr %q; want 1 and the error", r.code, r.stderr)
		}
		psqlExpect(t, "rows of the failed multi-statement string", psqlRun(t, url, "-At", "-c", "SELECT count(*) FROM items WHERE id = 8"), "0\n")
		psqlExpect(t, "explicit block in one -c", psqlRun(t, url, "-At", "-c",
			"BEGIN; INSERT INTO items (id, name) VALUES (9, 'gone'); ROLLBACK; SELECT count(*) FROM items WHERE id = 9"),
			"BEGIN\nINSERT 0 1\nROLLBACK\n0\n")
		// Leave the table as the other subtests expect it, whatever failed.
		psqlRun(t, url, "-At", "-c", "DELETE FROM items WHERE id > 6")
	})

	t.Run("Errors", func(t *testing.T) {
		script := psqlScript(t, "err.sql", `SELECT 1;
INSERT INTO tags VALUES ('before', NULL);
SELECT * FROM missing_table WHERE id = 1;
INSERT INTO tags VALUES ('after', NULL);
`)
		r := psqlRun(t, url, "-At", "-f", script)
		if r.code != 3 {
			t.Errorf("ON_ERROR_STOP script: exit code %d, want 3", r.code)
		}
		if r.stdout != "1\nINSERT 0 1\n" {
			t.Errorf("ON_ERROR_STOP script: stdout %q, want %q", r.stdout, "1\nINSERT 0 1\n")
		}
		want := "psql:" + script + `:3: ERROR:  relation "missing_table" does not exist
LINE 1: SELECT * FROM missing_table WHERE id = 1;
                      ^
`
		if r.stderr != want {
			t.Errorf("ON_ERROR_STOP script: stderr:\n%s\nwant:\n%s", r.stderr, want)
		}
		psqlExpect(t, "statements after the error did not run", psqlRun(t, url, "-At", "-c", "SELECT tag FROM tags WHERE tag IN ('before', 'after')"), "before\n")

		// An error with a position on the second line and a hint.
		script = psqlScript(t, "err2.sql", "SELECT id,\n  nme FROM items;\n")
		r = psqlRun(t, url, "-At", "-f", script)
		want = "psql:" + script + `:2: ERROR:  column "nme" does not exist
LINE 2:   nme FROM items;
          ^
HINT:  Perhaps you meant to reference the column "items.name".
`
		if r.code != 3 || r.stdout != "" || r.stderr != want {
			t.Errorf("column error: exit %d, stdout %q, stderr:\n%s\nwant exit 3 and:\n%s", r.code, r.stdout, r.stderr, want)
		}

		// An error raised by a shard during a scatter query.
		script = psqlScript(t, "err3.sql", "SELECT 2;\nSELECT id, 100 / (id - 4) FROM items ORDER BY id;\nSELECT 3;\n")
		r = psqlRun(t, url, "-At", "-f", script)
		want = "psql:" + script + ":2: ERROR:  division by zero\n"
		if r.code != 3 || r.stdout != "2\n" || r.stderr != want {
			t.Errorf("shard error: exit %d, stdout %q, stderr %q; want 3, %q, %q", r.code, r.stdout, r.stderr, "2\n", want)
		}

		// A unique violation, an unsupported statement.
		r = psqlRun(t, url, "-At", "-c", "INSERT INTO items (id, name) VALUES (1, 'again')")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR:  duplicate key value violates unique constraint") ||
			!strings.Contains(r.stderr, "DETAIL:  Key (id)=(1) already exists.\n") {
			t.Errorf("duplicate key: exit %d, stderr %q", r.code, r.stderr)
		}
		r = psqlRun(t, url, "-At", "-c", "UPDATE items SET id = 2 WHERE id = 1")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR:  duplicate key value violates unique constraint") || r.stdout != "" {
			t.Errorf("update of the distribution column onto a taken key: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		// The error ends psql -c before later -c commands.
		r = psqlRun(t, url, "-At", "-c", "SELECT 1", "-c", "SELECT * FROM items WHERE price > 'x'", "-c", "SELECT 3")
		want = `ERROR:  invalid input syntax for type numeric: "x"
LINE 1: SELECT * FROM items WHERE price > 'x'
                                          ^
`
		if r.code != 1 || r.stdout != "1\n" || r.stderr != want {
			t.Errorf("-c error: exit %d, stdout %q, stderr:\n%s\nwant exit 1, \"1\\n\" and:\n%s", r.code, r.stdout, r.stderr, want)
		}
		// The coordinator still answers.
		psqlExpect(t, "after errors", psqlRun(t, url, "-At", "-c", "SELECT count(*), sum(id) FROM items WHERE id BETWEEN 1 AND 6"), "6|21\n")
	})
}
