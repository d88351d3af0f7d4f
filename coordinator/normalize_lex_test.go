package coordinator

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// lexCases are statements whose tokens the Go scanner must agree on with
// PostgreSQL's, beside every statement of the project's conformance files.
var lexCases = []string{
	"SELECT abalance FROM pgbench_accounts WHERE aid = 4242;",
	"UPDATE pgbench_accounts SET abalance = abalance + -3161 WHERE aid = 78542;",
	"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (41, 8, 7654, -2718, CURRENT_TIMESTAMP);",
	"select x from t where a=-1 and b<>-2 and c>=-3 and d!=-4 and e<=-5",
	"SELECT a*-1, a/-2, a%-3, a^-4, a+-5, a--6\n, a|-7, a@-8, a~-9, a<-10, a>-11",
	"SELECT 1 /* c /* nested */ still */ + 2 -- trailing\n",
	"SELECT 'a''b', 'c' 'd', 'e'\n'f'",
	"SELECT 'e' -- comment\n 'f'",
	"SELECT 1.5, .5, 5., 1e10, 1.5E-3, 2147483647, 2147483648, -2147483648, 007",
	"SELECT 1..2", "SELECT 1e", "SELECT 1e+", "SELECT 12abc", "SELECT 0x1F, 0o17, 0b101, 1_000",
	"SELECT E'\\n', B'101', X'ff', N'x', U&'d\\0061t', U&\"x\", e'a'",
	`SELECT "Quoted ""name""", "select", a.b, t."x" FROM "T"`,
	"SELECT $1, $$x$$, $tag$y$tag$, a$b FROM t",
	"SELECT a::int, b := 1, c => 2, d[1:2], e.f, g..h",
	"SELECT * FROM t ORDER BY 2 DESC NULLS LAST, 1 LIMIT 10 OFFSET 5",
	"SELECT a FROM t GROUP BY 1 HAVING count(*) > 1 WINDOW w AS (ORDER BY 1) FOR UPDATE",
	"SELECT - 1, -(-1), (- 5), NOT -1, CASE WHEN -1 THEN -2 ELSE -3 END, ARRAY[-1]",
	"DELETE FROM t WHERE k IN (-1, -2) RETURNING -1",
	"select * from größe where ü = 'ä'",
	"SELECT {1}, `x`, ?, #, a ## b, a !- 1, a ?- 1, a -+- 1, a *- 1",
	"SELECT 1 ;", "SELECT ;", ";", "", "   ", "-- only a comment", "/* unterminated",
	"SELECT 'unterminated", `SELECT "unterminated`, `SELECT ""`, "SELECT \\x",
	"SELECT 1\v+\f2\r\n", "SeLeCt OrDeR bY lImIt", "SELECT nulls, asc, by, system_user",
}

func TestLexNativeAgrees(t *testing.T) {
	queries := append([]string(nil), lexCases...)
	files, err := filepath.Glob("../test/conformance/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files found: %v", err)
	}
	for _, f := range files {
		queries = append(queries, statementsOf(t, f)...)
	}
	native := 0
	for _, q := range queries {
		got, ok := lexNative(q)
		if !ok {
			continue
		}
		native++
		want, ok := lexPgQuery(q)
		if !ok {
			t.Errorf("lexNative accepted %q, which PostgreSQL's scanner refuses", q)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("lexNative(%q) =\n%v\nPostgreSQL's scanner:\n%v", q, got, want)
		}
	}
	// The Go scanner must keep taking the common statements, or the hot
	// path quietly goes back through cgo.
	if native < len(queries)*3/4 {
		t.Errorf("lexNative took %d of %d statements, want at least three quarters", native, len(queries))
	}
	for _, q := range lexCases[:3] {
		if _, ok := lexNative(q); !ok {
			t.Errorf("lexNative declined the pgbench statement %q", q)
		}
	}
}

// statementsOf returns the SQL of every statement and query record of a
// sqllogictest file.
func statementsOf(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur []string
	in := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur, in = nil, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "statement ") || strings.HasPrefix(line, "query "):
			flush()
			in = true
		case line == "" || line == "----":
			flush()
		case in:
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

// TestReservedKeywords holds reservedKeywords and lexKeywords to the
// keywords of the parser pg_query embeds.
func TestReservedKeywords(t *testing.T) {
	seen := 0
	for _, name := range pg_query.Token_name {
		word := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, "_P"), "_LA"))
		scan, err := pg_query.Scan(word)
		if err != nil || len(scan.Tokens) != 1 || scan.Tokens[0].KeywordKind == pg_query.KeywordKind_NO_KEYWORD {
			continue // not a keyword token (ASCII_40, IDENT, ...)
		}
		seen++
		want := lexToken{kind: pgQueryKind(scan.Tokens[0]), reserved: scan.Tokens[0].KeywordKind == pg_query.KeywordKind_RESERVED_KEYWORD, end: len(word)}
		for _, w := range []string{word, strings.ToUpper(word)} {
			if got := wordToken(w, 0, len(w)); got != want {
				t.Errorf("wordToken(%q) = %+v, PostgreSQL's scanner: %+v", w, got, want)
			}
		}
	}
	if seen < 400 {
		t.Errorf("checked %d keywords, want the parser's 400 or more", seen)
	}
}

func FuzzLexNative(f *testing.F) {
	for _, q := range lexCases {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, ok := lexNative(q)
		if !ok {
			return
		}
		want, ok := lexPgQuery(q)
		if !ok {
			t.Fatalf("lexNative accepted %q, which PostgreSQL's scanner refuses", q)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("lexNative(%q) =\n%v\nPostgreSQL's scanner:\n%v", q, got, want)
		}
	})
}

// BenchmarkLex compares the two scanners on a pgbench statement.
func BenchmarkLex(b *testing.B) {
	q := "UPDATE pgbench_accounts SET abalance = abalance + -3161 WHERE aid = 78542;"
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			lexNative(q)
		}
	})
	b.Run("pg_query", func(b *testing.B) {
		for b.Loop() {
			lexPgQuery(q)
		}
	})
}
