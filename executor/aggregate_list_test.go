package executor

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/distgres/distgres/pgerr"
)

const oidBoxArray = 1020

// tabRows is rows with tab-separated cells, for partials holding '|'.
func tabRows(lines ...string) [][][]byte {
	var out [][][]byte
	for _, l := range lines {
		out = append(out, row(strings.Split(l, "\t")...))
	}
	return out
}

func TestParseArrayText(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		delim byte
		inner string
		elems []string
	}{
		{"bare", `{1,-2.5,abc}`, ',', "", []string{`1`, `-2.5`, `abc`}},
		// array_out quotes a delimiter, quote, backslash, brace, white
		// space, the empty string and the word NULL.
		{"quoted", `{"a,b","q\"t","back\\slash","{br}","sp ace","","NULL",NULL}`, ',', "",
			[]string{`"a,b"`, `"q\"t"`, `"back\\slash"`, `"{br}"`, `"sp ace"`, `""`, `"NULL"`, `NULL`}},
		{"one element", `{x}`, ',', "", []string{`x`}},
		{"empty", `{}`, ',', "", nil},
		{"nested", `{{1,2},{"}",NULL}}`, ',', "", []string{`{1,2}`, `{"}",NULL}`}},
		{"bounds", `[1:2][0:1]={{1,2},{3,4}}`, ',', "[0:1]", []string{`{1,2}`, `{3,4}`}},
		{"box", `{(1,1),(0,0);(2,2),(0,0)}`, ';', "", []string{`(1,1),(0,0)`, `(2,2),(0,0)`}},
		{"json", `{"{\"a\" : 1}",1e2,"null"}`, ',', "", []string{`"{\"a\" : 1}"`, `1e2`, `"null"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := parseArrayText([]byte(c.text), c.delim)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range a.elems {
				got = append(got, string(e))
			}
			if string(a.inner) != c.inner || !reflect.DeepEqual(got, c.elems) {
				t.Errorf("got inner %q elements %q, want %q %q", a.inner, got, c.inner, c.elems)
			}
			if out := writeArrayText(a.inner, a.elems, c.delim); c.inner == "" && string(out) != c.text {
				t.Errorf("printed back as %s", out)
			}
		})
	}
	for _, bad := range []string{``, `{`, `1,2`, `{1,}`, `{"a}`, `{a"b}`, `{{1}`, `[1:2]{1,2}`, `{1}x`} {
		if _, err := parseArrayText([]byte(bad), ','); err == nil {
			t.Errorf("parseArrayText(%q) succeeded", bad)
		}
	}
}

func TestElementValue(t *testing.T) {
	cases := []struct {
		in   string
		want []byte
	}{
		{`NULL`, nil},
		{`"NULL"`, []byte("NULL")},
		{`""`, []byte{}},
		{`abc`, []byte("abc")},
		{`"q\"t \\x"`, []byte(`q"t \x`)},
		{`"{\"a\": [1, 2]}"`, []byte(`{"a": [1, 2]}`)},
	}
	for _, c := range cases {
		got := elementValue([]byte(c.in))
		if (got == nil) != (c.want == nil) || string(got) != string(c.want) {
			t.Errorf("elementValue(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestArrayShape(t *testing.T) {
	shape := func(s string) string {
		t.Helper()
		a, err := parseArrayText([]byte(s), ',')
		if err != nil {
			t.Fatal(err)
		}
		sh, err := arrayShape(a, ',')
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}
	same := [][2]string{
		{`{1,2}`, `{NULL}`},
		{`{{1,2},{3,4}}`, `{{"a,b",NULL}}`},
		{`[1:2][0:1]={{1,2},{3,4}}`, `[1:1][0:1]={{5,6}}`},
		{`{{{1},{2}}}`, `{{{3},{4}},{{5},{6}}}`},
	}
	for _, p := range same {
		if a, b := shape(p[0]), shape(p[1]); a != b {
			t.Errorf("shapes of %s and %s differ: %q, %q", p[0], p[1], a, b)
		}
	}
	differ := [][2]string{
		{`{1,2}`, `{{1,2}}`},
		{`{{1,2}}`, `{{1,2,3}}`},
		{`{{1,2}}`, `[1:1][0:1]={{1,2}}`},
		{`{{{1},{2}}}`, `{{{1,2}}}`},
	}
	for _, p := range differ {
		if a, b := shape(p[0]), shape(p[1]); a == b {
			t.Errorf("shapes of %s and %s are both %q", p[0], p[1], a)
		}
	}
}

func TestBytea(t *testing.T) {
	cases := []struct {
		text   string
		bytes  string
		escape bool
	}{
		{`\x`, "", false},
		{`\x0102ff5c`, "\x01\x02\xff\\", false},
		{``, "", true},
		{`abc\\\001\377 x`, "abc\\\x01\xff x", true},
	}
	for _, c := range cases {
		var l listState
		b, err := l.decodeBytea([]byte(c.text))
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if string(b) != c.bytes || l.escapeBytea != c.escape {
			t.Errorf("decodeBytea(%q) = %q escape=%v, want %q %v", c.text, b, l.escapeBytea, c.bytes, c.escape)
		}
		if out := encodeBytea(b, c.escape); string(out) != c.text {
			t.Errorf("encodeBytea(%q) = %q, want %q", b, out, c.text)
		}
	}
	for _, bad := range []string{`\xa`, `\xzz`, `a\b`, `\12`} {
		var l listState
		if _, err := l.decodeBytea([]byte(bad)); err == nil {
			t.Errorf("decodeBytea(%q) succeeded", bad)
		}
	}
}

// The expected values are PostgreSQL 15's for the same rows aggregated in
// one place.
func TestAggregateCombineLists(t *testing.T) {
	byKey := func(keys ...SortKey) *ListAgg {
		for i := range keys {
			keys[i].Col = i
		}
		return &ListAgg{Elements: true, Keys: keys, ArrayDelim: ','}
	}
	cases := []combineCase{
		{
			// SELECT g, string_agg(x, ',' ORDER BY k) FROM t GROUP BY g:
			// each node's values and keys in order; NULL values are
			// skipped, and a node whose rows FILTER dropped sends NULLs.
			name:   "string_agg ordered",
			groups: []int{0},
			aggs: []Agg{{Kind: AggStringAgg, Col: 1, Type: oidText,
				List: &ListAgg{Elements: true, Delim: []byte(","), Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out: outputs("g0", "a0"),
			input: tabRows(
				"1\t{\"a,b\",NULL,z}\t{1,2,5}",
				"2\t{only}\t{1}",
				"1\t{\"q\\\"t\",\"back\\\\slash\"}\t{0,3}",
				"2\t{NULL}\t{0}",
				"1\tNULL\tNULL",
				"3\t{NULL,NULL}\t{1,2}",
			),
			want: []string{`1|q"t,a,b,back\slash,z`, "2|only", "3|NULL"},
		},
		{
			// string_agg(x, d ORDER BY k DESC NULLS LAST): each value but
			// the first is preceded by its own delimiter, none if NULL.
			name: "string_agg delimiters",
			aggs: []Agg{{Kind: AggStringAgg, Col: 0, Type: oidText,
				List: &ListAgg{Elements: true, DelimCol: true, Keys: []SortKey{{TypeOID: oidInt4, Desc: true}}}}},
			out: outputs("a0"),
			input: tabRows(
				"{a,c}\t{-,+}\t{1,NULL}",
				"{d,b}\t{;,NULL}\t{3,2}",
			),
			want: []string{"db-a+c"},
		},
		{
			// array_agg(x ORDER BY s DESC, k): NULLs first when
			// descending, text in C order ('B' < 'a').
			name: "array_agg two keys",
			aggs: []Agg{{Kind: AggArrayAgg, Col: 0, Type: 1007,
				List: byKey(SortKey{TypeOID: oidText, Desc: true, NullsFirst: true}, SortKey{TypeOID: oidInt4})}},
			out: outputs("a0"),
			input: tabRows(
				"{5,1,2}\t{NULL,a,B}\t{9,2,1}",
				"{4,3}\t{b,a}\t{0,1}",
			),
			want: []string{"{5,4,3,1,2}"},
		},
		{
			// array_agg(x ORDER BY x DESC): the key is read from the
			// values; quoted elements stay quoted.
			name: "array_agg value key",
			aggs: []Agg{{Kind: AggArrayAgg, Col: 0, Type: 1009,
				List: &ListAgg{Elements: true, ArrayDelim: ',', Keys: []SortKey{{TypeOID: oidText, Desc: true, NullsFirst: true}}, ValueKeys: []bool{true}}}},
			out:   outputs("a0"),
			input: tabRows(`{NULL,"b b"}`, `{c,a}`),
			want:  []string{`{NULL,c,"b b",a}`},
		},
		{
			// Equal keys keep the input order: the nodes' order, then
			// each node's own.
			name:  "ties",
			aggs:  []Agg{{Kind: AggArrayAgg, Col: 0, Type: 1009, List: byKey(SortKey{TypeOID: oidNumeric})}},
			out:   outputs("a0"),
			input: tabRows("{a,b,e}\t{1,1.0,NaN}", "{c,d}\t{1.00,2}", "{f}\t{0.5}"),
			want:  []string{"{f,a,b,c,d,e}"},
		},
		{
			name: "string_agg bytea hex",
			aggs: []Agg{{Kind: AggStringAgg, Col: 0, Type: oidBytea,
				List: &ListAgg{Elements: true, DelimCol: true, Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out:   outputs("a0"),
			input: tabRows(`{"\\x0203","\\x5c"}`+"\t"+`{"\\x2c","\\x2c"}`+"\t{1,3}", `{"\\x01"}`+"\t"+`{"\\x2c"}`+"\t{2}"),
			want:  []string{`\x02032c012c5c`},
		},
		{
			name: "string_agg bytea escape",
			aggs: []Agg{{Kind: AggStringAgg, Col: 0, Type: oidBytea,
				List: &ListAgg{Elements: true, DelimCol: true, Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out:   outputs("a0"),
			input: tabRows(`{"\\002\\003","\\\\"}`+"\t{\",\",\",\"}\t{1,3}", `{"\\001",abc}`+"\t{\",\",\",\"}\t{2,4}"),
			want:  []string{`\002\003,\001,\\,abc`},
		},
		{
			// json_agg of a composite: objects after the first on a new
			// line, NULLs not.
			name: "json_agg newline",
			aggs: []Agg{{Kind: AggJSONAgg, Col: 0, Type: 114,
				List: &ListAgg{Elements: true, JSONNewline: true, Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out: outputs("a0"),
			input: tabRows(
				`{NULL,NULL}`+"\t{0,2}",
				`{"{\"f1\":1,\"f2\":\"x\"}","{\"f1\":2,\"f2\":\"y\"}"}`+"\t{1,3}",
			),
			want: []string{"[null, \n {\"f1\":1,\"f2\":\"x\"}, null, \n {\"f1\":2,\"f2\":\"y\"}]"},
		},
		{
			// json values keep their own spacing and get no new line.
			name: "json_agg of json",
			aggs: []Agg{{Kind: AggJSONAgg, Col: 0, Type: 114,
				List: &ListAgg{Elements: true, Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out:   outputs("a0"),
			input: tabRows(`{"\"s\""," [1,2] "}`+"\t{0,1}", `{"{\"a\" : 1}",1e2}`+"\t{3,5}"),
			want:  []string{`["s",  [1,2] , {"a" : 1}, 1e2]`},
		},
		{
			name: "jsonb_agg ordered",
			aggs: []Agg{{Kind: AggJSONBAgg, Col: 0, Type: 3802,
				List: &ListAgg{Elements: true, Keys: []SortKey{{TypeOID: oidText}}}}},
			out:   outputs("a0"),
			input: tabRows(`{"{\"a\": 1}",NULL}`+"\t{a,c}", `{"\"s\""}`+"\t{b}"),
			want:  []string{`[{"a": 1}, "s", null]`},
		},
		{
			// Without ORDER BY the nodes' own results concatenate.
			name: "unordered results",
			aggs: []Agg{
				{Kind: AggJSONAgg, Col: 0, Type: 114, List: &ListAgg{JSONNewline: true}},
				{Kind: AggJSONAgg, Col: 1, Type: 114, List: &ListAgg{JSONNewline: true}},
				{Kind: AggJSONBAgg, Col: 2, Type: 3802, List: &ListAgg{}},
				{Kind: AggStringAgg, Col: 3, Type: oidText, List: &ListAgg{Delim: []byte(", ")}},
				{Kind: AggStringAgg, Col: 4, Type: oidText, List: &ListAgg{}},
				{Kind: AggArrayAgg, Col: 5, Type: 1007, List: &ListAgg{Elements: true, ArrayDelim: ','}},
			},
			out: outputs("a0", "a1", "a2", "a3", "a4", "a5"),
			input: tabRows(
				"[1, 2]\t[{\"a\":1}, \n {\"a\":2}]\t[{\"a\": 1}]\ta, b\tx\t{1,NULL}",
				"NULL\tNULL\tNULL\tNULL\tNULL\tNULL",
				"[3]\t[null, \n {\"a\":3}]\t[null, 2]\tc\ty\t{3}",
				"[null]\t[{\"a\":4}]\t[\"s\"]\t\t\t{4}",
			),
			want: []string{"[1, 2, 3, null]|[{\"a\":1}, \n {\"a\":2}, null, \n {\"a\":3}, \n {\"a\":4}]|[{\"a\": 1}, null, 2, \"s\"]|a, b, c, |xy|{1,NULL,3,4}"},
		},
		{
			// array_agg of arrays: the first dimension grows, the inner
			// bounds stay.
			name: "array_agg of arrays",
			aggs: []Agg{
				{Kind: AggArrayAgg, Col: 0, Type: 1007, List: &ListAgg{Elements: true, ArrayDelim: ','}},
				{Kind: AggArrayAgg, Col: 1, Type: 1007, List: &ListAgg{Elements: true, ArrayDelim: ','}},
				{Kind: AggArrayAgg, Col: 2, Type: oidBoxArray, List: &ListAgg{Elements: true, ArrayDelim: ';'}},
			},
			out: outputs("a0", "a1", "a2"),
			input: tabRows(
				"[1:2][0:1]={{1,2},{3,4}}\t{{1,NULL}}\t{(1,1),(0,0);(2,2),(0,0)}",
				"[1:1][0:1]={{5,6}}\t{{\"a\",3}}\t{(3,3),(0,0)}",
			),
			want: []string{`[1:3][0:1]={{1,2},{3,4},{5,6}}|{{1,NULL},{"a",3}}|{(1,1),(0,0);(2,2),(0,0);(3,3),(0,0)}`},
		},
		{
			// No rows at all: NULL, as PostgreSQL's aggregates of no rows.
			name: "no rows",
			aggs: []Agg{
				{Kind: AggStringAgg, Col: 0, Type: oidText, List: &ListAgg{Delim: []byte(",")}},
				{Kind: AggArrayAgg, Col: 1, Type: 1007, List: byKey(SortKey{TypeOID: oidInt4})},
				{Kind: AggJSONAgg, Col: 3, Type: 114, List: &ListAgg{}},
				{Kind: AggJSONBAgg, Col: 4, Type: 3802, List: &ListAgg{}},
			},
			out:  outputs("a0", "a1", "a2", "a3"),
			want: []string{"NULL|NULL|NULL|NULL"},
		},
		{
			// The empty string is a value, not NULL.
			name:  "string_agg of empty strings",
			aggs:  []Agg{{Kind: AggStringAgg, Col: 0, Type: oidText, List: &ListAgg{Elements: true, Delim: []byte(","), Keys: []SortKey{{TypeOID: oidInt4}}}}},
			out:   outputs("a0"),
			input: tabRows(`{""}` + "\t{1}"),
			want:  []string{""},
		},
	}
	runCombineCases(t, cases, []SortKey{{Col: 0, TypeOID: oidInt4}})
}

func TestAggregateCombineListErrors(t *testing.T) {
	cases := []struct {
		name  string
		ag    Agg
		input [][][]byte
		code  string
	}{
		{
			// PostgreSQL refuses to stack arrays of different shapes.
			name:  "array_agg of arrays of different lengths",
			ag:    Agg{Kind: AggArrayAgg, Col: 0, Type: 1007, List: &ListAgg{Elements: true, ArrayDelim: ','}},
			input: tabRows("{{1,2}}", "{{1,2,3}}"),
			code:  "2202E",
		},
		{
			name:  "array_agg of arrays of different bounds",
			ag:    Agg{Kind: AggArrayAgg, Col: 0, Type: 1007, List: &ListAgg{Elements: true, ArrayDelim: ','}},
			input: tabRows("{{1,2}}", "[1:1][0:1]={{1,2}}"),
			code:  "2202E",
		},
		{
			name:  "keys missing",
			ag:    Agg{Kind: AggStringAgg, Col: 0, Type: oidText, List: &ListAgg{Elements: true, Keys: []SortKey{{TypeOID: oidInt4}}}},
			input: tabRows("{a,b}\t{1}"),
		},
		{
			name:  "malformed array",
			ag:    Agg{Kind: AggJSONBAgg, Col: 0, Type: 3802, List: &ListAgg{Elements: true}},
			input: tabRows(`{"a}`),
		},
		{
			name:  "malformed json result",
			ag:    Agg{Kind: AggJSONAgg, Col: 0, Type: 114, List: &ListAgg{}},
			input: tabRows(`{"a": 1}`),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runAggregate(t, &Aggregate{Aggs: []Agg{c.ag}, Output: outputs("a0")}, c.input)
			if err == nil {
				t.Fatal("no error")
			}
			var pe *pgerr.Error
			if c.code != "" && (!errors.As(err, &pe) || pe.Code != c.code) {
				t.Errorf("error %v, want SQLSTATE %s", err, c.code)
			}
		})
	}
}
