package executor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/distgres/distgres/pgerr"
)

// fakeInput is an Operator that returns fixed text rows, standing in for
// the Gather that reads the nodes' partial aggregates.
type fakeInput struct {
	rows   [][][]byte
	opened bool
	closed bool
}

func (f *fakeInput) Open(context.Context, *Runtime, Params) (Rows, error) {
	f.opened = true
	return &fakeRows{in: f, i: -1}, nil
}
func (f *fakeInput) Columns() []Column    { return nil }
func (f *fakeInput) Explain() Description { return Description{Operator: "Fake"} }

type fakeRows struct {
	in *fakeInput
	i  int
}

func (r *fakeRows) Next() bool {
	r.i++
	return r.i < len(r.in.rows)
}
func (r *fakeRows) Values() [][]byte { return r.in.rows[r.i] }
func (r *fakeRows) Err() error       { return nil }
func (r *fakeRows) Close() (string, error) {
	r.in.closed = true
	return formatTag("SELECT", int64(len(r.in.rows))), nil
}

// rows builds text rows from strings separated by "|"; NULL is SQL NULL.
func rows(lines ...string) [][][]byte {
	var out [][][]byte
	for _, l := range lines {
		out = append(out, row(strings.Split(l, "|")...))
	}
	return out
}

func showRows(rs [][][]byte) []string {
	out := []string{}
	for _, r := range rs {
		var parts []string
		for _, v := range r {
			if v == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, string(v))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// outputs is a shorthand for an Aggregate's Output: "gN" is group key N,
// "aN" aggregate N.
func outputs(spec ...string) []OutputCol {
	var out []OutputCol
	for _, s := range spec {
		var n int
		fmt.Sscanf(s[1:], "%d", &n)
		if s[0] == 'g' {
			out = append(out, OutputCol{Group: n})
		} else {
			out = append(out, OutputCol{Group: -1, Agg: n})
		}
	}
	return out
}

func TestAggregateCombine(t *testing.T) {
	// The partial layout is the planner's: the GROUP BY expressions first,
	// then each aggregate's partial column(s), avg as sum and count.
	cases := []struct {
		name    string
		groups  []int
		aggs    []Agg
		out     []OutputCol
		sort    []SortKey
		input   [][][]byte
		want    []string
		wantErr string // SQLSTATE, or "error" for any error
	}{
		{
			// SELECT count(*), sum(i), min(t), max(n), avg(n) FROM t
			// (i int4 so sum is int8; n numeric), three nodes, the last
			// without rows. PostgreSQL over the same rows: avg of
			// 1.5, 1.5, 1.5, 10.25, 10 = 4.9500000000000000.
			name: "count sum min max avg",
			aggs: []Agg{
				{Kind: AggCount, Col: 0, Type: 20},
				{Kind: AggSum, Col: 1, Type: 20},
				{Kind: AggMin, Col: 2, Type: 25},
				{Kind: AggMax, Col: 3, Type: 1700},
				{Kind: AggAvg, Col: 4, Type: 1700},
			},
			out: outputs("a0", "a1", "a2", "a3", "a4"),
			input: rows(
				"3|10|b|1.5|4.5|3",
				"2|-4|a|10.25|20.25|2",
				"0|NULL|NULL|NULL|NULL|0",
			),
			want: []string{"5|6|a|10.25|4.9500000000000000"},
		},
		{
			// SELECT count(*), sum(x), min(x), avg(x) FROM t: no rows on
			// any node still gives one row.
			name: "empty input without GROUP BY",
			aggs: []Agg{
				{Kind: AggCount, Col: 0, Type: 20},
				{Kind: AggSum, Col: 1, Type: 1700},
				{Kind: AggMin, Col: 2, Type: 23},
				{Kind: AggAvg, Col: 3, Type: 1700},
			},
			out:  outputs("a0", "a1", "a2", "a3"),
			want: []string{"0|NULL|NULL|NULL"},
		},
		{
			name:   "empty input with GROUP BY",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggCount, Col: 1, Type: 20}},
			out:    outputs("g0", "a0"),
			want:   []string{},
		},
		{
			// Every node saw only NULLs: sum, min, max and avg are NULL,
			// count(x) is 0 and count(*) counts the rows.
			name: "all NULL partials",
			aggs: []Agg{
				{Kind: AggCount, Col: 0, Type: 20},
				{Kind: AggCount, Col: 1, Type: 20},
				{Kind: AggSum, Col: 2, Type: 20},
				{Kind: AggMax, Col: 3, Type: 1700},
				{Kind: AggAvg, Col: 4, Type: 701},
			},
			out:   outputs("a0", "a1", "a2", "a3", "a4"),
			input: rows("2|0|NULL|NULL|NULL|0", "1|0|NULL|NULL|NULL|0"),
			want:  []string{"3|0|NULL|NULL|NULL"},
		},
		{
			// Groups come out in the order they were first seen; a NULL
			// key and an empty string are different groups; the output
			// can list an aggregate before its group key.
			name:   "group order and NULL keys",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggCount, Col: 1, Type: 20}, {Kind: AggSum, Col: 2, Type: 1700}},
			out:    outputs("a0", "g0", "a1"),
			input: rows(
				"b|1|1.5",
				"a|2|NULL",
				"NULL|3|1",
				"|4|2",
				"b|5|-1.50",
				"NULL|6|2",
			),
			want: []string{"6|b|0.00", "2|a|NULL", "9|NULL|3", "4||2"},
		},
		{
			// Two group columns: the key must not confuse ("ab", "c")
			// with ("a", "bc").
			name:   "two group columns",
			groups: []int{0, 1},
			aggs:   []Agg{{Kind: AggCount, Col: 2, Type: 20}},
			out:    outputs("g0", "g1", "a0"),
			input:  rows("ab|c|1", "a|bc|2", "ab|c|3", "a|NULL|4", "NULL|a|5"),
			want:   []string{"ab|c|4", "a|bc|2", "a|NULL|4", "NULL|a|5"},
		},
		{
			// SELECT g, sum(x) ... GROUP BY g ORDER BY 2 DESC, 1
			// (Sort keys index the output columns; NULL sum sorts first
			// under DESC).
			name:   "sorted groups",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggSum, Col: 1, Type: 20}},
			out:    outputs("g0", "a0"),
			sort:   []SortKey{{Col: 1, TypeOID: 20, Desc: true, NullsFirst: true}, {Col: 0, TypeOID: 25}},
			input:  rows("x|5", "y|NULL", "z|10", "w|7", "x|5", "v|10"),
			want:   []string{"y|NULL", "v|10", "x|10", "z|10", "w|7"},
		},
		{
			// ORDER BY g NULLS LAST on an int4 key, compared as numbers.
			name:   "sorted by group key",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggCount, Col: 1, Type: 20}},
			out:    outputs("g0", "a0"),
			sort:   []SortKey{{Col: 0, TypeOID: 23}},
			input:  rows("10|1", "NULL|1", "9|1", "-3|1", "10|1"),
			want:   []string{"-3|1", "9|1", "10|2", "NULL|1"},
		},
		{
			name: "min max over text in C order and numerics by value",
			aggs: []Agg{
				{Kind: AggMin, Col: 0, Type: 25},
				{Kind: AggMax, Col: 0, Type: 25},
				{Kind: AggMin, Col: 1, Type: 1700},
				{Kind: AggMax, Col: 1, Type: 1700},
				{Kind: AggMin, Col: 2, Type: 701},
				{Kind: AggMax, Col: 2, Type: 701},
			},
			out:   outputs("a0", "a1", "a2", "a3", "a4", "a5"),
			input: rows("a|9.5|NaN", "B|10|-Infinity", "NULL|-0.5|NULL", "b|NULL|1e+300"),
			want:  []string{"B|b|-0.5|10|-Infinity|NaN"},
		},
		{
			// sum(numeric) keeps the largest display scale:
			// PostgreSQL: SELECT sum(x) FROM (VALUES (0.5), (-0.5)) -> 0.0.
			name:  "numeric sum scale",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 1700}, {Kind: AggAvg, Col: 1, Type: 1700}},
			out:   outputs("a0", "a1"),
			input: rows("0.5|0.5|1", "-0.5|-0.5|1"),
			want:  []string{"0.0|0.00000000000000000000"},
		},
		{
			// SELECT sum(x), avg(x) over float8 0.1 and 0.2 on two nodes:
			// PostgreSQL prints 0.30000000000000004 and 0.15000000000000002.
			name:  "float8 sum and avg",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 701}, {Kind: AggAvg, Col: 1, Type: 701}},
			out:   outputs("a0", "a1"),
			input: rows("0.1|0.1|1", "0.2|0.2|1"),
			want:  []string{"0.30000000000000004|0.15000000000000002"},
		},
		{
			// SELECT avg(x) over float8 1, 2, 4: 2.3333333333333335.
			name:  "float8 avg over counts",
			aggs:  []Agg{{Kind: AggAvg, Col: 0, Type: 701}},
			out:   outputs("a0"),
			input: rows("3|2", "4|1", "NULL|0"),
			want:  []string{"2.3333333333333335"},
		},
		{
			// sum(float4) of 0.1 and 0.2 is 0.3 in PostgreSQL.
			name:  "float4 sum",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 700}},
			out:   outputs("a0"),
			input: rows("0.1", "0.2"),
			want:  []string{"0.3"},
		},
		{
			// sum(int4) is int8; two partials that overflow int8 fail like
			// PostgreSQL's combine (int8pl): 22003 bigint out of range.
			name:    "bigint sum overflow",
			aggs:    []Agg{{Kind: AggSum, Col: 0, Type: 20}},
			out:     outputs("a0"),
			input:   rows("9223372036854775807", "1"),
			wantErr: "22003",
		},
		{
			name:    "bigint sum negative overflow",
			aggs:    []Agg{{Kind: AggSum, Col: 0, Type: 20}},
			out:     outputs("a0"),
			input:   rows("-9223372036854775808", "-1"),
			wantErr: "22003",
		},
		{
			name:  "bigint sum at the limit",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 20}},
			out:   outputs("a0"),
			input: rows("9223372036854775807", "-1", "1", "NULL"),
			want:  []string{"9223372036854775807"},
		},
		{
			name:    "bad partial count",
			aggs:    []Agg{{Kind: AggCount, Col: 0, Type: 20}},
			out:     outputs("a0"),
			input:   rows("x"),
			wantErr: "error",
		},
		// Below: PostgreSQL's combine functions (used by its own parallel
		// aggregation) and results over the same rows, which the
		// coordinator does not match. Each was checked on PostgreSQL 15.
		{
			// SELECT sum(x) FROM (VALUES ('1e308'::float8), ('1e308')) v(x)
			// -> ERROR: value out of range: overflow (22003); float8pl
			// combines partials with the same check.
			name:    "float8 sum overflow",
			aggs:    []Agg{{Kind: AggSum, Col: 0, Type: 701}},
			out:     outputs("a0"),
			input:   rows("1e+308", "1e+308"),
			wantErr: "22003",
		},
		{
			// SELECT sum(x) FROM (VALUES ('3.4028235e+38'::float4),
			// ('3.4028235e+38')) v(x) -> ERROR: value out of range:
			// overflow.
			name:    "float4 sum overflow",
			aggs:    []Agg{{Kind: AggSum, Col: 0, Type: 700}},
			out:     outputs("a0"),
			input:   rows("3.4028235e+38", "3.4028235e+38"),
			wantErr: "22003",
		},
		{
			// float4 partials combine in float4 (float4pl): 16777216 + 1
			// rounds to 16777216 at each step, so PostgreSQL's combine of
			// these partials in this order prints 1.6777216e+07; summing
			// in float64 and rounding once gives 1.6777218e+07.
			name:  "float4 sum in float4 arithmetic",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 700}},
			out:   outputs("a0"),
			input: rows("1.6777216e+07", "1", "1"),
			want:  []string{"1.6777216e+07"},
		},
		{
			// SELECT sum(x), avg(x) FROM unnest('{Infinity,1}'::numeric[])
			// -> Infinity, Infinity.
			name:  "numeric Infinity sum and avg",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 1700}, {Kind: AggAvg, Col: 1, Type: 1700}},
			out:   outputs("a0", "a1"),
			input: rows("Infinity|Infinity|1", "1|1|1"),
			want:  []string{"Infinity|Infinity"},
		},
		{
			// SELECT sum(x), avg(x) FROM unnest('{Infinity,-Infinity}'::numeric[])
			// -> NaN, NaN.
			name:  "numeric Infinity minus Infinity",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 1700}, {Kind: AggAvg, Col: 1, Type: 1700}},
			out:   outputs("a0", "a1"),
			input: rows("Infinity|Infinity|1", "-Infinity|-Infinity|1"),
			want:  []string{"NaN|NaN"},
		},
		{
			// SELECT sum(x), avg(x) FROM unnest('{NaN,1}'::numeric[]) -> NaN, NaN.
			name:  "numeric NaN",
			aggs:  []Agg{{Kind: AggSum, Col: 0, Type: 1700}, {Kind: AggAvg, Col: 1, Type: 1700}},
			out:   outputs("a0", "a1"),
			input: rows("NaN|NaN|1", "1|1|1"),
			want:  []string{"NaN|NaN"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &fakeInput{rows: c.input}
			a := &Aggregate{Input: in, GroupCols: c.groups, Aggs: c.aggs, Output: c.out, Sort: c.sort}
			rs, err := a.Open(context.Background(), &Runtime{}, Params{})
			if !in.closed {
				t.Errorf("input not closed")
			}
			if c.wantErr != "" {
				if err == nil {
					var got [][][]byte
					for rs.Next() {
						got = append(got, append([][]byte(nil), rs.Values()...))
					}
					t.Fatalf("got rows %v, want error %s", showRows(got), c.wantErr)
				}
				if c.wantErr != "error" && pgerr.Code(err) != c.wantErr {
					t.Fatalf("error %v has code %q, want %s", err, pgerr.Code(err), c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			var got [][][]byte
			for rs.Next() {
				got = append(got, append([][]byte(nil), rs.Values()...))
			}
			if err := rs.Err(); err != nil {
				t.Fatalf("Err: %v", err)
			}
			tag, err := rs.Close()
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			if g, w := strings.Join(showRows(got), "\n"), strings.Join(c.want, "\n"); g != w {
				t.Errorf("rows:\n%s\nwant:\n%s", g, w)
			}
			if want := fmt.Sprintf("SELECT %d", len(c.want)); tag != want {
				t.Errorf("tag %q, want %q", tag, want)
			}
		})
	}
}

// TestAggregateGroupsByValue: two-phase GROUP BY must put values that
// PostgreSQL considers equal in one group even when the nodes print them
// differently. PostgreSQL:
//
//	SELECT x, count(*) FROM (VALUES (1.0), (1.00), (2)) v(x) GROUP BY x  -> 1.0|2, 2|1
//	SELECT x, count(*) FROM (VALUES ('-0'::float8), ('0')) v(x) GROUP BY x  -> -0|2
//	SELECT x, count(*) FROM (VALUES ('a '::bpchar), ('a'::bpchar)) v(x) GROUP BY x  -> a|2
//
// The test sets GroupTypes, so an Aggregate that honours it passes whatever
// representative of a group it prints; it checks the group counts only.
func TestAggregateGroupsByValue(t *testing.T) {
	cases := []struct {
		name  string
		typ   uint32
		input [][][]byte
		want  []int64 // count per group, in first-seen order
	}{
		{"numeric scale", 1700, rows("1.0|1", "1.00|1", "2|1"), []int64{2, 1}},
		{"float8 negative zero", 701, rows("-0|1", "0|1"), []int64{2}},
		{"bpchar trailing spaces", 1042, rows("a |1", "a|1"), []int64{2}},
		{"text is exact", 25, rows("a |1", "a|1"), []int64{1, 1}},
	}
	for _, c := range cases {
		in := &fakeInput{rows: c.input}
		a := &Aggregate{
			Input:      in,
			GroupCols:  []int{0},
			GroupTypes: []uint32{c.typ},
			Aggs:       []Agg{{Kind: AggCount, Col: 1, Type: 20}},
			Output:     outputs("g0", "a0"),
		}
		rs, err := a.Open(context.Background(), &Runtime{}, Params{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []int64
		var shown []string
		for rs.Next() {
			n, _ := strconv.ParseInt(string(rs.Values()[1]), 10, 64)
			got = append(got, n)
			shown = append(shown, showRows([][][]byte{rs.Values()})...)
		}
		rs.Close()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: groups %v, PostgreSQL gives counts %v", c.name, shown, c.want)
		}
	}
}

// TestCountEval covers LIMIT/OFFSET amounts: constants, and parameters in
// text and binary form (the planner declares them int8). PostgreSQL treats
// LIMIT NULL as no limit and OFFSET NULL as 0, and int8 input accepts
// surrounding spaces and a plus sign (SELECT ' 5 '::int8, '+5'::int8).
func TestCountEval(t *testing.T) {
	be8 := func(n int64) []byte {
		b := make([]byte, 8)
		for i := 0; i < 8; i++ {
			b[i] = byte(uint64(n) >> (56 - 8*i))
		}
		return b
	}
	cases := []struct {
		name   string
		c      Count
		params Params
		def    int64
		want   int64
		code   string
	}{
		{"unset", Count{}, Params{}, -1, -1, ""},
		{"constant", Count{Set: true, Const: 7}, Params{}, -1, 7, ""},
		{"constant zero", Count{Set: true}, Params{}, -1, 0, ""},
		{"text param", Count{Set: true, Param: 2}, Params{Values: [][]byte{[]byte("x"), []byte("12")}}, -1, 12, ""},
		{"text plus sign", Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte("+5")}}, -1, 5, ""},
		{"text with spaces", Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte(" 5 ")}}, -1, 5, ""},
		{"text negative", Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte("-3")}}, -1, -3, ""},
		{"NULL limit is no limit", Count{Set: true, Param: 1}, Params{Values: [][]byte{nil}}, -1, -1, ""},
		{"NULL offset is zero", Count{Set: true, Param: 1}, Params{Values: [][]byte{nil}}, 0, 0, ""},
		{"binary int8", Count{Set: true, Param: 1}, Params{Values: [][]byte{be8(1 << 40)}, Formats: []int16{BinaryFormat}}, -1, 1 << 40, ""},
		{"binary negative int8", Count{Set: true, Param: 1}, Params{Values: [][]byte{be8(-2)}, Formats: []int16{BinaryFormat}}, -1, -2, ""},
		{"binary int4", Count{Set: true, Param: 1}, Params{Values: [][]byte{{0xff, 0xff, 0xff, 0xfe}}, Formats: []int16{BinaryFormat}}, -1, -2, ""},
		{"per-parameter formats", Count{Set: true, Param: 2}, Params{Values: [][]byte{[]byte("1"), be8(9)}, Formats: []int16{TextFormat, BinaryFormat}}, -1, 9, ""},
		{"bad binary length", Count{Set: true, Param: 1}, Params{Values: [][]byte{{1, 2}}, Formats: []int16{BinaryFormat}}, -1, 0, "22023"},
		{"bad text", Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte("ten")}}, -1, 0, "22P02"},
		{"missing parameter", Count{Set: true, Param: 3}, Params{Values: [][]byte{[]byte("1")}}, -1, 0, "42P02"},
	}
	for _, c := range cases {
		got, err := c.c.eval(c.params, c.def)
		if c.code != "" {
			if pgerr.Code(err) != c.code {
				t.Errorf("%s: got %d, %v (code %q), want error %s", c.name, got, err, pgerr.Code(err), c.code)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %d, %v, want %d", c.name, got, err, c.want)
		}
	}
}

// TestLimitOverAggregate runs the coordinator's top of a two-phase plan
// with LIMIT and OFFSET: SELECT g, count(*) ... GROUP BY g ORDER BY g
// LIMIT 2 OFFSET $1.
func TestLimitOverAggregate(t *testing.T) {
	cases := []struct {
		name   string
		limit  Count
		offset Count
		params Params
		want   []string
		code   string
	}{
		{"limit 2 offset 1", Count{Set: true, Const: 2}, Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte("1")}}, []string{"b|2", "c|1"}, ""},
		{"offset past the end", Count{Set: true, Const: 2}, Count{Set: true, Const: 10}, Params{}, []string{}, ""},
		{"limit 0", Count{Set: true, Const: 0}, Count{}, Params{}, []string{}, ""},
		{"limit NULL", Count{Set: true, Param: 1}, Count{}, Params{Values: [][]byte{nil}}, []string{"a|1", "b|2", "c|1", "d|1"}, ""},
		{"negative limit", Count{Set: true, Const: -1}, Count{}, Params{}, nil, "2201W"},
		{"negative offset", Count{}, Count{Set: true, Param: 1}, Params{Values: [][]byte{[]byte("-1")}}, nil, "2201X"},
	}
	for _, c := range cases {
		agg := &Aggregate{
			Input:     &fakeInput{rows: rows("c|1", "b|1", "a|1", "d|1", "b|1")},
			GroupCols: []int{0},
			Aggs:      []Agg{{Kind: AggCount, Col: 1, Type: 20}},
			Output:    outputs("g0", "a0"),
			Sort:      []SortKey{{Col: 0, TypeOID: 25}},
		}
		l := &Limit{Input: agg, Limit: c.limit, Offset: c.offset}
		rs, err := l.Open(context.Background(), &Runtime{}, c.params)
		if c.code != "" {
			if pgerr.Code(err) != c.code {
				t.Errorf("%s: error %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got [][][]byte
		for rs.Next() {
			got = append(got, append([][]byte(nil), rs.Values()...))
		}
		tag, err := rs.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(showRows(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: rows %v, want %v", c.name, showRows(got), c.want)
		}
		if want := fmt.Sprintf("SELECT %d", len(c.want)); tag != want {
			t.Errorf("%s: tag %q, want %q", c.name, tag, want)
		}
	}
}
