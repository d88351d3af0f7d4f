package executor

import (
	"fmt"
	"math"
	"sort"
	"testing"
)

// pgCompare holds PostgreSQL 15.18's own comparison of two values given in
// their text output form, produced against a scratch server with
//
//	EXECUTE format('SELECT CASE WHEN $1::%1$s%2$s < $2::%1$s%2$s THEN -1
//	  WHEN $1::%1$s%2$s = $2::%1$s%2$s THEN 0 ELSE 1 END', typ, coll) USING a, b
//
// (coll is COLLATE "C" for text, varchar, name and bpchar; the timestamptz
// values are what a node with TimeZone America/New_York prints around the
// end of daylight saving time).
var pgCompare = []struct {
	oid  uint32
	a, b string
	want int
}{
	{23, "2", "10", -1},
	{23, "-5", "3", -1},
	{23, "7", "7", 0},
	{21, "-32768", "32767", -1},
	{20, "-9223372036854775808", "9223372036854775807", -1},
	{20, "100", "99", 1},
	{26, "4294967295", "2", 1},
	{701, "NaN", "Infinity", 1},
	{701, "NaN", "NaN", 0},
	{701, "-Infinity", "-1e+308", -1},
	{701, "1e-05", "0.0001", -1},
	{701, "-0", "0", 0},
	{701, "2", "10", -1},
	{701, "1.5", "1.25", 1},
	{701, "NaN", "-Infinity", 1},
	{701, "5e-324", "0", 1},
	{700, "NaN", "3.4028235e+38", 1},
	{700, "1e+06", "999999", 1},
	{1700, "1.0", "1.00", 0},
	{1700, "-0.5", "0", -1},
	{1700, "10", "9.99999", 1},
	{1700, "NaN", "Infinity", 1},
	{1700, "NaN", "NaN", 0},
	{1700, "-Infinity", "-100000000000000000000", -1},
	{1700, "0.000000000000000000001", "0", 1},
	{1700, "123456789012345678901234567890.1", "123456789012345678901234567890.01", 1},
	{1700, "-1", "-1.0000", 0},
	{25, "B", "a", -1},
	{25, "a", "ab", -1},
	{25, "é", "z", 1},
	{25, "", "a", -1},
	{25, "abc", "abc", 0},
	{25, "a b", "a", 1},
	{25, "Z", "a", -1},
	{1043, "apple", "Apple", 1},
	{19, "pg_class", "pg_Class", 1},
	{1042, "ab  ", "ab", 0},
	{1042, "a", "a ", 0},
	{1042, "a\t", "a", 1},
	{1042, "a", "b  ", -1},
	{1042, " a", "a", -1},
	{16, "f", "t", -1},
	{16, "t", "t", 0},
	{2950, "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-000000000009", 1},
	{1082, "2024-01-02", "2024-10-01", -1},
	{1082, "-infinity", "0001-01-01", -1},
	{1082, "infinity", "9999-12-31", 1},
	{1082, "0044-03-15 BC", "0001-01-01", -1},
	{1082, "0002-01-01 BC", "0001-01-01 BC", -1},
	{1082, "10000-01-01", "9999-12-31", 1},
	{1114, "2024-01-02 03:04:05", "2024-01-02 03:04:05.5", -1},
	{1114, "2024-01-02 03:04:05.123", "2024-01-02 03:04:05.12", 1},
	{1184, "2024-11-03 01:30:00-04", "2024-11-03 01:10:00-05", -1},
	{1184, "2024-01-01 00:00:00+00", "2024-01-01 00:00:00.000001+00", -1},
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func TestCompareTextMatchesPostgres(t *testing.T) {
	for _, c := range pgCompare {
		if IsDateTime(c.oid) {
			// Ordered by extract(epoch from ...), never by their text,
			// which these cases show to be wrong.
			if Comparable(c.oid) {
				t.Errorf("Comparable(%d) = true; dates and times must be ordered by epoch", c.oid)
			}
			continue
		}
		if !Comparable(c.oid) {
			t.Errorf("Comparable(%d) = false, but compareText is used for it", c.oid)
		}
		if got := sign(compareText(c.oid, []byte(c.a), []byte(c.b))); got != c.want {
			t.Errorf("compareText(%d, %q, %q) = %d, PostgreSQL says %d", c.oid, c.a, c.b, got, c.want)
		}
		if got := sign(compareText(c.oid, []byte(c.b), []byte(c.a))); got != -c.want {
			t.Errorf("compareText(%d, %q, %q) = %d, PostgreSQL says %d", c.oid, c.b, c.a, got, -c.want)
		}
	}
}

func TestComparable(t *testing.T) {
	cases := []struct {
		oid  uint32
		want bool
	}{
		{23, true}, {20, true}, {1700, true}, {701, true}, {25, true}, {1042, true}, {2950, true}, {1184, false}, {1082, false}, {1114, false},
		{17, false},   // bytea
		{114, false},  // json
		{3802, false}, // jsonb
		{1186, false}, // interval
		{1007, false}, // int4[]
		{0, false},
	}
	for _, c := range cases {
		if got := Comparable(c.oid); got != c.want {
			t.Errorf("Comparable(%d) = %v, want %v", c.oid, got, c.want)
		}
	}
}

// row builds a text row; "NULL" stands for SQL NULL.
func row(vals ...string) [][]byte {
	r := make([][]byte, len(vals))
	for i, v := range vals {
		if v != "NULL" {
			r[i] = []byte(v)
		}
	}
	return r
}

func showRow(r [][]byte) string {
	s := "("
	for i, v := range r {
		if i > 0 {
			s += ","
		}
		if v == nil {
			s += "NULL"
		} else {
			s += string(v)
		}
	}
	return s + ")"
}

// TestCompareRowsOrder sorts rows with compareRows and checks the order
// PostgreSQL gives for the same ORDER BY (NULLS LAST is the default for ASC,
// NULLS FIRST for DESC, which is how the planner fills SortKey.NullsFirst).
func TestCompareRowsOrder(t *testing.T) {
	input := [][][]byte{
		row("2", "b"), row("NULL", "a"), row("10", "NULL"), row("2", "a"), row("-1", "c"), row("NULL", "NULL"), row("10", "a"),
	}
	cases := []struct {
		name string
		keys []SortKey
		want []string
	}{
		{
			name: "ORDER BY 1",
			keys: []SortKey{{Col: 0, TypeOID: 23}},
			want: []string{"(-1,c)", "(2,b)", "(2,a)", "(10,NULL)", "(10,a)", "(NULL,a)", "(NULL,NULL)"},
		},
		{
			name: "ORDER BY 1 NULLS FIRST, 2",
			keys: []SortKey{{Col: 0, TypeOID: 23, NullsFirst: true}, {Col: 1, TypeOID: 25}},
			want: []string{"(NULL,a)", "(NULL,NULL)", "(-1,c)", "(2,a)", "(2,b)", "(10,a)", "(10,NULL)"},
		},
		{
			name: "ORDER BY 1 DESC, 2 DESC",
			keys: []SortKey{{Col: 0, TypeOID: 23, Desc: true, NullsFirst: true}, {Col: 1, TypeOID: 25, Desc: true, NullsFirst: true}},
			want: []string{"(NULL,NULL)", "(NULL,a)", "(10,NULL)", "(10,a)", "(2,b)", "(2,a)", "(-1,c)"},
		},
		{
			name: "ORDER BY 1 DESC NULLS LAST, 2 ASC NULLS FIRST",
			keys: []SortKey{{Col: 0, TypeOID: 23, Desc: true}, {Col: 1, TypeOID: 25, NullsFirst: true}},
			want: []string{"(10,NULL)", "(10,a)", "(2,a)", "(2,b)", "(-1,c)", "(NULL,NULL)", "(NULL,a)"},
		},
		{
			name: "ORDER BY 2, 1 DESC",
			keys: []SortKey{{Col: 1, TypeOID: 25}, {Col: 0, TypeOID: 23, Desc: true, NullsFirst: true}},
			want: []string{"(NULL,a)", "(10,a)", "(2,a)", "(2,b)", "(-1,c)", "(NULL,NULL)", "(10,NULL)"},
		},
		{
			name: "ORDER BY 1 compared as text (C)",
			keys: []SortKey{{Col: 0, TypeOID: 25}},
			want: []string{"(-1,c)", "(10,NULL)", "(10,a)", "(2,b)", "(2,a)", "(NULL,a)", "(NULL,NULL)"},
		},
	}
	for _, c := range cases {
		rows := append([][][]byte(nil), input...)
		sort.SliceStable(rows, func(i, j int) bool { return compareRows(c.keys, rows[i], rows[j]) < 0 })
		var got []string
		for _, r := range rows {
			got = append(got, showRow(r))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

// TestCompareRowsFloatNaN: NaN sorts after every number and before NULL
// under NULLS LAST (PostgreSQL: SELECT x FROM (VALUES ('NaN'::float8),
// (NULL), ('Infinity'), ('-Infinity'), ('1.5')) v(x) ORDER BY x gives
// -Infinity, 1.5, Infinity, NaN, NULL).
func TestCompareRowsFloatNaN(t *testing.T) {
	for _, oid := range []uint32{700, 701, 1700} {
		vals := []string{"NaN", "NULL", "Infinity", "-Infinity", "1.5"}
		want := []string{"-Infinity", "1.5", "Infinity", "NaN", "NULL"}
		if oid == 1700 {
			vals = append(vals, "1.50")
			want = []string{"-Infinity", "1.5", "1.50", "Infinity", "NaN", "NULL"}
		}
		rows := make([][][]byte, len(vals))
		for i, v := range vals {
			rows[i] = row(v)
		}
		keys := []SortKey{{Col: 0, TypeOID: oid}}
		sort.SliceStable(rows, func(i, j int) bool { return compareRows(keys, rows[i], rows[j]) < 0 })
		var got []string
		for _, r := range rows {
			s := showRow(r)
			got = append(got, s[1:len(s)-1])
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("type %d: got %v, want %v", oid, got, want)
		}
	}
	if cmpFloat(math.NaN(), math.Inf(1)) != 1 || cmpFloat(math.Inf(1), math.NaN()) != -1 || cmpFloat(math.NaN(), math.NaN()) != 0 {
		t.Errorf("cmpFloat does not put NaN last")
	}
}

func TestCompareRowsEqual(t *testing.T) {
	cases := []struct {
		keys []SortKey
		a, b [][]byte
		want int
	}{
		{[]SortKey{{Col: 0, TypeOID: 1700}}, row("1.0"), row("1.00"), 0},
		{[]SortKey{{Col: 0, TypeOID: 1700, Desc: true}}, row("-0.5"), row("0"), 1},
		{[]SortKey{{Col: 0, TypeOID: 1042}}, row("x  "), row("x"), 0},
		{[]SortKey{{Col: 0, TypeOID: 23}}, row("NULL"), row("NULL"), 0},
		{[]SortKey{{Col: 0, TypeOID: 23}, {Col: 1, TypeOID: 23}}, row("NULL", "1"), row("NULL", "2"), -1},
		{[]SortKey{{Col: 1, TypeOID: 23}}, row("9", "1"), row("1", "1"), 0},
		{nil, row("1"), row("2"), 0},
	}
	for _, c := range cases {
		if got := sign(compareRows(c.keys, c.a, c.b)); got != c.want {
			t.Errorf("compareRows(%+v, %s, %s) = %d, want %d", c.keys, showRow(c.a), showRow(c.b), got, c.want)
		}
	}
}

// Epochs of dates and timestamps (extract(epoch from ...) on the nodes)
// are numerics, including PostgreSQL's infinities.
func TestCompareEpochs(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"-Infinity", "-62135596800", -1},
		{"Infinity", "253402214400", 1},
		{"-63524358000.000000", "-62135596800.000000", -1}, // 0044-03-15 BC < 0001-01-01
		{"1730611800.000000", "1730614200.000000", -1},     // 01:30-04 < 01:10-05 on 2024-11-03
		{"1704067200.000001", "1704067200", 1},
	}
	for _, c := range cases {
		if got := sign(compareText(1700, []byte(c.a), []byte(c.b))); got != c.want {
			t.Errorf("numeric %s vs %s = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
