package sqllogictest

import (
	"reflect"
	"strings"
	"testing"
)

// Expected hashes below were computed independently with the md5sum tool,
// e.g. printf '2\na\n1\nb\n1\na\n' | md5sum.
func TestNewResult(t *testing.T) {
	rows := [][]string{{"2", "a"}, {"1", "b"}, {"1", "a"}}
	tests := []struct {
		name       string
		rows       [][]string
		mode       SortMode
		wantValues []string
		wantHash   string
	}{
		{"nosort keeps order", rows, NoSort, []string{"2", "a", "1", "b", "1", "a"}, "065a3d24541d1437913522133195c5f5"},
		{"rowsort sorts rows", rows, RowSort, []string{"1", "a", "1", "b", "2", "a"}, "dbe36764f05cdc080a7d06b732c952af"},
		{"valuesort sorts values", rows, ValueSort, []string{"1", "1", "2", "a", "a", "b"}, "a5de783294128628e0332b4270204316"},
		{"empty", nil, RowSort, []string{}, "d41d8cd98f00b204e9800998ecf8427e"},
		{"one value", [][]string{{"x"}}, NoSort, []string{"x"}, "401b30e3b8b5d629635a5c613cdb7919"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewResult(tt.rows, tt.mode)
			if !reflect.DeepEqual(got.Values, tt.wantValues) {
				t.Errorf("Values = %q, want %q", got.Values, tt.wantValues)
			}
			if got.Hash != tt.wantHash {
				t.Errorf("Hash = %s, want %s", got.Hash, tt.wantHash)
			}
			if got.Count != len(tt.wantValues) {
				t.Errorf("Count = %d, want %d", got.Count, len(tt.wantValues))
			}
		})
	}
	if !reflect.DeepEqual(rows, [][]string{{"2", "a"}, {"1", "b"}, {"1", "a"}}) {
		t.Errorf("NewResult modified its input: %q", rows)
	}
}

func TestNewResultSortOrder(t *testing.T) {
	tests := []struct {
		name string
		rows [][]string
		mode SortMode
		want []string
	}{
		{
			name: "rowsort compares byte strings, not numbers",
			rows: [][]string{{"9"}, {"10"}, {"-1"}, {"NULL"}, {"(empty)"}},
			mode: RowSort,
			want: []string{"(empty)", "-1", "10", "9", "NULL"},
		},
		{
			name: "rowsort compares column by column",
			rows: [][]string{{"b", "1"}, {"a", "z"}, {"a!", "b"}, {"a", "y"}},
			mode: RowSort,
			want: []string{"a", "y", "a", "z", "a!", "b", "b", "1"},
		},
		{
			name: "rowsort upper case before lower case",
			rows: [][]string{{"a"}, {"B"}, {"@"}},
			mode: RowSort,
			want: []string{"@", "B", "a"},
		},
		{
			name: "rowsort keeps a row's values together",
			rows: [][]string{{"2", "0"}, {"1", "9"}},
			mode: RowSort,
			want: []string{"1", "9", "2", "0"},
		},
		{
			name: "valuesort ignores rows",
			rows: [][]string{{"2", "0"}, {"1", "9"}},
			mode: ValueSort,
			want: []string{"0", "1", "2", "9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewResult(tt.rows, tt.mode).Values; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Values = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResultMatches(t *testing.T) {
	twelve := [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}, {"6"}, {"7"}, {"8"}, {"9"}, {"10"}, {"11"}, {"12"}}
	const twelveHash = "f4699b80440c0403b31fce987f9cd8af"
	tests := []struct {
		name   string
		result Result
		rec    Record
		want   bool
	}{
		{"values equal", NewResult([][]string{{"1", "a"}}, NoSort),
			Record{Expected: []string{"1", "a"}, ExpectedCount: 2}, true},
		{"values differ", NewResult([][]string{{"1", "b"}}, NoSort),
			Record{Expected: []string{"1", "a"}, ExpectedCount: 2}, false},
		{"values in another order", NewResult([][]string{{"a", "1"}}, NoSort),
			Record{Expected: []string{"1", "a"}, ExpectedCount: 2}, false},
		{"fewer values", NewResult([][]string{{"1"}}, NoSort),
			Record{Expected: []string{"1", "a"}, ExpectedCount: 2}, false},
		{"more values", NewResult([][]string{{"1", "a", "x"}}, NoSort),
			Record{Expected: []string{"1", "a"}, ExpectedCount: 2}, false},
		{"empty result expected", NewResult(nil, NoSort),
			Record{}, true},
		{"empty result not expected", NewResult(nil, NoSort),
			Record{Expected: []string{"1"}, ExpectedCount: 1}, false},
		{"unexpected rows", NewResult([][]string{{"1"}}, NoSort),
			Record{}, false},
		{"hash equal", NewResult(twelve, NoSort),
			Record{ExpectedHash: twelveHash, ExpectedCount: 12}, true},
		{"hash equal in upper case", NewResult(twelve, NoSort),
			Record{ExpectedHash: strings.ToUpper(twelveHash), ExpectedCount: 12}, true},
		{"hash differs", NewResult(twelve, ValueSort), // "1","10","11","12","2",...
			Record{ExpectedHash: twelveHash, ExpectedCount: 12}, false},
		{"count differs", NewResult(twelve, NoSort),
			Record{ExpectedHash: twelveHash, ExpectedCount: 11}, false},
		{"values listed beyond the threshold are compared one by one", NewResult(twelve, NoSort),
			Record{Expected: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}, ExpectedCount: 12}, true},
		{"listed values beyond the threshold differ", NewResult(twelve, NoSort),
			Record{Expected: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "13"}, ExpectedCount: 12}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.result.Matches(tt.rec); got != tt.want {
				t.Errorf("Matches = %v, want %v (result %v)", got, tt.want, tt.result)
			}
		})
	}
}

func TestResultEqual(t *testing.T) {
	a := NewResult([][]string{{"1", "a"}, {"2", "b"}}, NoSort)
	tests := []struct {
		name string
		b    Result
		want bool
	}{
		{"same rows", NewResult([][]string{{"1", "a"}, {"2", "b"}}, NoSort), true},
		{"same values in other rows", NewResult([][]string{{"1"}, {"a"}, {"2"}, {"b"}}, NoSort), true},
		{"other order", NewResult([][]string{{"2", "b"}, {"1", "a"}}, NoSort), false},
		{"other value", NewResult([][]string{{"1", "a"}, {"2", "c"}}, NoSort), false},
		{"fewer values", NewResult([][]string{{"1", "a"}}, NoSort), false},
		{"empty", NewResult(nil, NoSort), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Equal(tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := tt.b.Equal(a); got != tt.want {
				t.Errorf("Equal (reversed) = %v, want %v", got, tt.want)
			}
		})
	}
	if !NewResult(nil, NoSort).Equal(Result{}) {
		t.Error("an empty result is not Equal to the zero Result")
	}
}

func TestResultString(t *testing.T) {
	twelve := [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}, {"6"}, {"7"}, {"8"}, {"9"}, {"10"}, {"11"}, {"12"}}
	tests := []struct {
		name   string
		result Result
		want   string
	}{
		{"empty", NewResult(nil, NoSort), "(no values)"},
		{"few values", NewResult([][]string{{"1", "NULL"}, {"(empty)", "x"}}, NoSort), "1 NULL (empty) x"},
		{"quoted values", NewResult([][]string{{"a b", "", `"`}}, NoSort), `"a b" "" "\""`},
		{"ten values", NewResult(twelve[:10], NoSort), "1 2 3 4 5 6 7 8 9 10"},
		{"more than ten", NewResult(twelve, NoSort),
			"1 2 3 4 5 6 7 8 9 10 ... (12 values hashing to f4699b80440c0403b31fce987f9cd8af)"},
		{"without a hash", Result{Values: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}},
			"1 2 3 4 5 6 7 8 9 10 ... (12 values hashing to f4699b80440c0403b31fce987f9cd8af)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.result.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMatchesPostgreSQLResults checks the hashing convention and the 'I'
// formatting against records of the corpus's select1.test, using
// PostgreSQL's own output. The record headers and "N values hashing to H"
// lines below are those of select1.test (lines 93-107); the values were
// produced by running that file's 31 statements before line 93 (CREATE
// TABLE t1 and 30 INSERTs) on PostgreSQL 15 (initdb --locale=C) and then
// the two queries with psql -At.
func TestMatchesPostgreSQLResults(t *testing.T) {
	const script = `hash-threshold 8

query I nosort
SELECT CASE WHEN c>(SELECT avg(c) FROM t1) THEN a*2 ELSE b*10 END
  FROM t1
 ORDER BY 1
----
30 values hashing to 3c13dee48d9356ae19af2515e05e6b54

query II nosort
SELECT a+b*2+c*3+d*4+e*5,
       (a+b+c+d+e)/5
  FROM t1
 ORDER BY 1,2
----
60 values hashing to 808146289313018fce25f1a280bd8c30
`
	pgOutput := []string{
		// query I: one row per line.
		"358 364 376 382 398 402 410 426 432 440 458 468 478 486 490 " +
			"1000 1050 1120 1180 1240 1290 1300 1390 1430 1450 1510 1580 1600 1670 1700",
		// query II: one row per comma-separated pair.
		"1529,102 1612,107 1680,112 1757,117 1826,122 1902,127 1985,132 2046,137 2131,142 2202,147 " +
			"2281,152 2349,157 2432,162 2501,167 2579,172 2654,177 2728,182 2806,187 2878,192 2949,197 " +
			"3039,202 3114,207 3175,212 3260,217 3331,222 3399,227 3473,232 3553,237 3629,242 3706,247",
	}
	f, err := Parse(strings.NewReader(script), "select1-excerpt")
	if err != nil {
		t.Fatal(err)
	}
	var queries []Record
	for _, rec := range f.Records {
		if rec.Kind == KindQuery {
			queries = append(queries, rec)
		}
	}
	if len(queries) != len(pgOutput) {
		t.Fatalf("parsed %d queries, want %d", len(queries), len(pgOutput))
	}
	for i, rec := range queries {
		var rows [][]string
		for _, line := range strings.Fields(pgOutput[i]) {
			var row []string
			for j, v := range strings.Split(line, ",") {
				row = append(row, FormatValue(rec.Types[j], &v))
			}
			rows = append(rows, row)
		}
		res := NewResult(rows, rec.Sort)
		if !res.Matches(rec) {
			t.Errorf("line %d: result %v does not match %d values hashing to %s", rec.Line, res, rec.ExpectedCount, rec.ExpectedHash)
		}
	}
}
