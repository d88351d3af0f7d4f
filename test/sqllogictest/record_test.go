package sqllogictest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Record
	}{
		{
			name:  "statement ok",
			input: "statement ok\nCREATE TABLE t1(a INTEGER, b INTEGER)\n",
			want:  []Record{{Kind: KindStatement, Line: 1, SQL: "CREATE TABLE t1(a INTEGER, b INTEGER)"}},
		},
		{
			name:  "statement error without pattern",
			input: "statement error\nDROP TABLE nosuch\n",
			want:  []Record{{Kind: KindStatement, Line: 1, SQL: "DROP TABLE nosuch", ExpectError: true}},
		},
		{
			name:  "statement error with pattern",
			input: "statement error  relation \"nosuch\" does  not exist\nDROP TABLE nosuch\n",
			want: []Record{{Kind: KindStatement, Line: 1, SQL: "DROP TABLE nosuch", ExpectError: true,
				ErrorPattern: `relation "nosuch" does  not exist`}},
		},
		{
			name:  "multi-line statement",
			input: "statement ok\nINSERT INTO t1\n  VALUES(1, 2)\n",
			want:  []Record{{Kind: KindStatement, Line: 1, SQL: "INSERT INTO t1\n  VALUES(1, 2)"}},
		},
		{
			name:  "query with defaults",
			input: "query I\nSELECT 1\n----\n1\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT 1", Types: "I",
				Expected: []string{"1"}, ExpectedCount: 1}},
		},
		{
			name:  "query rowsort with label and multi-line SQL",
			input: "query IT rowsort label-7\nSELECT a, b\n  FROM t1\n ORDER BY 1\n----\n1\nx\n2\n(empty)\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT a, b\n  FROM t1\n ORDER BY 1", Types: "IT",
				Sort: RowSort, Label: "label-7", Expected: []string{"1", "x", "2", "(empty)"}, ExpectedCount: 4}},
		},
		{
			name:  "query valuesort with hash",
			input: "query III valuesort\nSELECT * FROM t1\n----\n30 values hashing to 3C13DEE48D9356AE19AF2515E05E6B54\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT * FROM t1", Types: "III", Sort: ValueSort,
				ExpectedHash: "3c13dee48d9356ae19af2515e05e6b54", ExpectedCount: 30}},
		},
		{
			name:  "query nosort",
			input: "query R nosort\nSELECT 1.5\n----\n1.500\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT 1.5", Types: "R", Sort: NoSort,
				Expected: []string{"1.500"}, ExpectedCount: 1}},
		},
		{
			name:  "query with empty result",
			input: "query I nosort\nSELECT 1 WHERE false\n----\n\nstatement ok\nSELECT 2\n",
			want: []Record{
				{Kind: KindQuery, Line: 1, SQL: "SELECT 1 WHERE false", Types: "I"},
				{Kind: KindStatement, Line: 5, SQL: "SELECT 2"},
			},
		},
		{
			name:  "query error",
			input: "query error division by zero\nSELECT 1/0\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT 1/0", ExpectError: true,
				ErrorPattern: "division by zero"}},
		},
		{
			name:  "query error without pattern",
			input: "query error\nSELECT 1/0\n",
			want:  []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT 1/0", ExpectError: true}},
		},
		{
			name:  "values with spaces are one value each",
			input: "query TT valuesort join-4-1\nSELECT x, y FROM t\n----\ntable t29 row 6\ntable t31 row 9\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT x, y FROM t", Types: "TT", Sort: ValueSort,
				Label: "join-4-1", Expected: []string{"table t29 row 6", "table t31 row 9"}, ExpectedCount: 2}},
		},
		{
			name:  "tab-separated rows",
			input: "query IT\nSELECT a, b FROM t\n----\n1\tx y\n2\tNULL\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT a, b FROM t", Types: "IT",
				Expected: []string{"1", "x y", "2", "NULL"}, ExpectedCount: 4}},
		},
		{
			name:  "hash-threshold and halt",
			input: "hash-threshold 8\n\nstatement ok\nSELECT 1\n\nhalt\n\nstatement ok\nSELECT 2\n",
			want: []Record{
				{Kind: KindHashThreshold, Line: 1, HashThreshold: 8},
				{Kind: KindStatement, Line: 3, SQL: "SELECT 1"},
				{Kind: KindHalt, Line: 6},
				{Kind: KindStatement, Line: 8, SQL: "SELECT 2"},
			},
		},
		{
			name:  "one-line directives need no blank line after them",
			input: "hash-threshold 10\nstatement ok\nSELECT 1\n",
			want: []Record{
				{Kind: KindHashThreshold, Line: 1, HashThreshold: 10},
				{Kind: KindStatement, Line: 2, SQL: "SELECT 1"},
			},
		},
		{
			name: "conditions",
			input: "skipif mysql # not compatible\nskipif mssql\nstatement ok\nSELECT 1\n\n" +
				"onlyif sqlite # empty RHS\nquery I nosort\nSELECT 1 IN ()\n----\n0\n\n" +
				"onlyif mssql\nhalt\n",
			want: []Record{
				{Kind: KindStatement, Line: 3, SQL: "SELECT 1", SkipIf: []string{"mysql", "mssql"}},
				{Kind: KindQuery, Line: 7, SQL: "SELECT 1 IN ()", Types: "I", Expected: []string{"0"},
					ExpectedCount: 1, OnlyIf: []string{"sqlite"}},
				{Kind: KindHalt, Line: 13, OnlyIf: []string{"mssql"}},
			},
		},
		{
			name:  "conditions apply to the next record only",
			input: "skipif postgresql\nstatement ok\nSELECT 1\n\nstatement ok\nSELECT 2\n",
			want: []Record{
				{Kind: KindStatement, Line: 2, SQL: "SELECT 1", SkipIf: []string{"postgresql"}},
				{Kind: KindStatement, Line: 5, SQL: "SELECT 2"},
			},
		},
		{
			name: "comments",
			input: "# leading comment\n#\n\nstatement ok\nSELECT 1\n\n# between\n# records\n\n" +
				"skipif mysql\n# inside the condition block\nonlyif sqlite\nstatement ok\nSELECT 2\n\n# trailing\n",
			want: []Record{
				{Kind: KindStatement, Line: 4, SQL: "SELECT 1"},
				{Kind: KindStatement, Line: 13, SQL: "SELECT 2", SkipIf: []string{"mysql"}, OnlyIf: []string{"sqlite"}},
			},
		},
		{
			// Inside a record's SQL or values a '#' line is text: a value
			// may start with '#'.
			name:  "hash lines inside a record body are kept",
			input: "query T\nSELECT '#1'\n----\n#1\n",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT '#1'", Types: "T",
				Expected: []string{"#1"}, ExpectedCount: 1}},
		},
		{
			name:  "CRLF and trailing spaces",
			input: "statement ok \r\nCREATE TABLE t(a INT)  \r\n \t\r\nquery I rowsort\t\r\nSELECT a\r\n  FROM t\r\n---- \r\n1 \r\n2\r\n\r\n",
			want: []Record{
				{Kind: KindStatement, Line: 1, SQL: "CREATE TABLE t(a INT)"},
				{Kind: KindQuery, Line: 4, SQL: "SELECT a\n  FROM t", Types: "I", Sort: RowSort,
					Expected: []string{"1", "2"}, ExpectedCount: 2},
			},
		},
		{
			name:  "no final newline",
			input: "query I\nSELECT 1\n----\n1",
			want: []Record{{Kind: KindQuery, Line: 1, SQL: "SELECT 1", Types: "I",
				Expected: []string{"1"}, ExpectedCount: 1}},
		},
		{
			name:  "several blank lines between records",
			input: "\n\n\nstatement ok\nSELECT 1\n\n\n\nstatement ok\nSELECT 2\n\n\n",
			want: []Record{
				{Kind: KindStatement, Line: 4, SQL: "SELECT 1"},
				{Kind: KindStatement, Line: 9, SQL: "SELECT 2"},
			},
		},
		{
			name:  "empty input",
			input: "",
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(tt.input), "x.test")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Name != "x.test" {
				t.Errorf("Name = %q, want %q", f.Name, "x.test")
			}
			if !reflect.DeepEqual(f.Records, tt.want) {
				t.Errorf("records:\n got %+v\nwant %+v", f.Records, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantMsg  string
	}{
		{"unknown directive", "# c\n\nselect 1\n", 3, `unknown directive "select"`},
		{"unknown directive after records", "statement ok\nSELECT 1\n\nrequire foo\n", 4, `unknown directive "require"`},
		{"statement without mode", "statement\nSELECT 1\n", 1, `statement needs "ok" or "error"`},
		{"unknown statement mode", "statement count 3\nSELECT 1\n", 1, `unknown statement mode "count"`},
		{"statement ok with extra words", "statement ok now\nSELECT 1\n", 1, `unexpected "now" after statement ok`},
		{"statement without SQL", "statement ok\n\nstatement ok\nSELECT 1\n", 1, "statement without SQL"},
		{"statement at end of file", "statement ok\nSELECT 1\n\nstatement ok", 4, "statement without SQL"},
		{"separator in a statement", "statement ok\nSELECT 1\n----\n1\n", 3, "unexpected ---- in a statement"},
		{"query without types", "query\nSELECT 1\n", 1, "query needs type letters"},
		{"bad type letters", "query I2\nSELECT 1\n", 1, `invalid query type letters "I2"`},
		{"unknown sort mode", "\nquery II sorted\nSELECT 1, 2\n", 2, `unknown sort mode "sorted"`},
		{"too many query words", "query I nosort label-1 extra\nSELECT 1\n", 1, `unexpected "extra" after the query label`},
		{"query without SQL", "query I nosort\n----\n1\n", 1, "query without SQL"},
		{"bad hash-threshold", "hash-threshold eight\n", 1, `invalid hash-threshold "eight"`},
		{"negative hash-threshold", "hash-threshold -1\n", 1, `invalid hash-threshold "-1"`},
		{"hash-threshold without value", "hash-threshold\n", 1, "hash-threshold needs one number"},
		{"halt with extra words", "halt now\n", 1, `unexpected "now" after halt`},
		{"condition without engine", "skipif\nstatement ok\nSELECT 1\n", 1, "skipif needs an engine name"},
		{"condition followed by blank line", "statement ok\nSELECT 1\n\nonlyif sqlite\n\nstatement ok\nSELECT 2\n", 4, "not followed by a record"},
		{"condition at end of file", "skipif mysql\n# comment\n", 1, "not followed by a record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input), "bad.test")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.File != "bad.test" || pe.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want bad.test:%d", pe.File, pe.Line, tt.wantLine)
			}
			if !strings.Contains(pe.Msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tt.wantMsg)
			}
			if want := fmt.Sprintf("bad.test:%d: ", tt.wantLine); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.test")
	if err := os.WriteFile(path, []byte("statement ok\nSELECT 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(path)
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	if f.Name != path || len(f.Records) != 1 || f.Records[0].SQL != "SELECT 1" {
		t.Errorf("ParseFile = %+v", f)
	}

	if _, err := ParseFile(filepath.Join(dir, "missing.test")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ParseFile(missing) error = %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.test")
	if err := os.WriteFile(bad, []byte("statement ok\nSELECT 1\n\nbogus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ParseFile(bad)
	if want := bad + ":4: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ParseFile(bad) error = %v, want prefix %q", err, want)
	}
}

func TestApplies(t *testing.T) {
	tests := []struct {
		name   string
		skipIf []string
		onlyIf []string
		engine string
		want   bool
	}{
		{"no conditions", nil, nil, "postgresql", true},
		{"skipped", []string{"postgresql"}, nil, "postgresql", false},
		{"skipped among others", []string{"mysql", "postgresql"}, nil, "postgresql", false},
		{"skip for another engine", []string{"mysql", "mssql"}, nil, "postgresql", true},
		{"only for this engine", nil, []string{"postgresql"}, "postgresql", true},
		{"only for another engine", nil, []string{"mysql"}, "postgresql", false},
		{"only for one of several", nil, []string{"mysql", "postgresql"}, "postgresql", true},
		{"skip wins over only", []string{"postgresql"}, []string{"postgresql"}, "postgresql", false},
		{"case-insensitive", []string{"PostgreSQL"}, nil, "postgresql", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{SkipIf: tt.skipIf, OnlyIf: tt.onlyIf}
			if got := r.Applies(tt.engine); got != tt.want {
				t.Errorf("Applies(%q) = %v, want %v", tt.engine, got, tt.want)
			}
		})
	}
}

func TestKindAndSortModeStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{KindStatement.String(), "statement"},
		{KindQuery.String(), "query"},
		{KindHashThreshold.String(), "hash-threshold"},
		{KindHalt.String(), "halt"},
		{Kind(9).String(), "Kind(9)"},
		{NoSort.String(), "nosort"},
		{RowSort.String(), "rowsort"},
		{ValueSort.String(), "valuesort"},
		{SortMode(9).String(), "SortMode(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
