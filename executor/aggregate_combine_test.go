package executor

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/distgres/distgres/pgerr"
)

// runAggregate combines input rows with one Aggregate and returns its
// output rows, or the error.
func runAggregate(t *testing.T, a *Aggregate, input [][][]byte) ([]string, error) {
	t.Helper()
	a.Input = &fakeInput{rows: input}
	rs, err := a.Open(context.Background(), &Runtime{}, Params{})
	if err != nil {
		return nil, err
	}
	var got [][][]byte
	for rs.Next() {
		got = append(got, cloneRow(rs.Values()))
	}
	return showRows(got), nil
}

func cloneRow(r [][]byte) [][]byte {
	out := make([][]byte, len(r))
	for i, v := range r {
		out[i] = cloneBytes(v)
	}
	return out
}

// combineCase is an Aggregate over text partials and the rows it must
// return ("|" between columns).
type combineCase struct {
	name   string
	groups []int
	aggs   []Agg
	out    []OutputCol
	input  [][][]byte
	want   []string
}

// runCombineCases runs each case's Aggregate, its output ordered by sort.
func runCombineCases(t *testing.T, cases []combineCase, sort []SortKey) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := runAggregate(t, &Aggregate{GroupCols: c.groups, Aggs: c.aggs, Output: c.out, Sort: sort}, c.input)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestAggregateCombineBoolBitsDistinct(t *testing.T) {
	cases := []combineCase{
		{
			// SELECT bool_and(x), bool_or(x) FROM t: a node's NULL partial
			// (no non-null values there) does not count.
			name:  "bool_and bool_or",
			aggs:  []Agg{{Kind: AggBoolAnd, Col: 0, Type: 16}, {Kind: AggBoolOr, Col: 1, Type: 16}},
			out:   outputs("a0", "a1"),
			input: rows("t|f", "NULL|NULL", "t|t"),
			want:  []string{"t|t"},
		},
		{
			name:   "bool per group, all NULL gives NULL",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggBoolAnd, Col: 1, Type: 16}, {Kind: AggBoolOr, Col: 2, Type: 16}},
			out:    outputs("g0", "a0", "a1"),
			input:  rows("a|t|f", "b|NULL|NULL", "a|f|f", "c|t|t", "b|NULL|NULL"),
			want:   []string{"a|f|f", "b|NULL|NULL", "c|t|t"},
		},
		{
			// bit_and(b), bit_or(b) of bigint partials, negatives included:
			// 12 & -3 & 6 = 4, 12 | 1 | -2^63 = -2^63 + 13.
			name: "bit_and bit_or",
			aggs: []Agg{{Kind: AggBitAnd, Col: 0, Type: 20}, {Kind: AggBitOr, Col: 1, Type: 20}},
			out:  outputs("a0", "a1"),
			input: rows(
				"12|12",
				"NULL|NULL",
				"-3|1",
				"6|-9223372036854775808",
			),
			want: []string{"4|-9223372036854775795"},
		},
		{
			name:  "bit_and of no values",
			aggs:  []Agg{{Kind: AggBitAnd, Col: 0, Type: 23}, {Kind: AggBitOr, Col: 1, Type: 21}},
			out:   outputs("a0", "a1"),
			input: rows("NULL|NULL"),
			want:  []string{"NULL|NULL"},
		},
		{
			// count(DISTINCT n) of numeric: the nodes send (n, count(n))
			// per value; 1.0 and 1.00 are one value; a value no row
			// counted (FILTER false, or NULL) does not count.
			name:   "count distinct numeric",
			groups: []int{0},
			aggs:   []Agg{{Kind: AggCountDistinct, Col: 1, Type: 20, ValueType: 1700}},
			out:    outputs("g0", "a0"),
			input: rows(
				"x|1.0|2",
				"x|2|1",
				"x|1.00|1",
				"x|3|0",
				"x|NULL|0",
				"y|NULL|0",
				"x|-0.0|1",
				"x|0|3",
			),
			want: []string{"x|3", "y|0"},
		},
		{
			name:  "count distinct float and char",
			aggs:  []Agg{{Kind: AggCountDistinct, Col: 0, Type: 20, ValueType: 701}, {Kind: AggCountDistinct, Col: 2, Type: 20, ValueType: 1042}},
			out:   outputs("a0", "a1"),
			input: rows("-0|1|a|1", "0|1|a  |1", "NaN|1|b|1", "NaN|2|b |0"),
			want:  []string{"2|2"},
		},
		{
			// No rows at all: count(DISTINCT) is 0, the others NULL.
			name: "no input",
			aggs: []Agg{{Kind: AggCountDistinct, Col: 0, Type: 20, ValueType: 25}, {Kind: AggBoolAnd, Col: 2, Type: 16}, {Kind: AggBitOr, Col: 3, Type: 23}},
			out:  outputs("a0", "a1", "a2"),
			want: []string{"0|NULL|NULL"},
		},
	}
	runCombineCases(t, cases, nil)
}

// pgVariance holds sets of numeric values split over nodes, each node's
// partials as PostgreSQL 15 prints them ("count(x)|sum(x::numeric)|
// sum(x::numeric * x::numeric)"), and PostgreSQL's var_samp, var_pop,
// stddev_samp and stddev_pop over all the values, produced with
//
//	SELECT count(x), sum(x::numeric), sum(x::numeric*x::numeric)
//	FROM unnest(ARRAY[<a node's values>]::numeric[]) x;
//	SELECT var_samp(x), var_pop(x), stddev_samp(x), stddev_pop(x)
//	FROM unnest(ARRAY[<all values>]::numeric[]) x;
var pgVariance = []struct {
	partials []string
	want     [4]string
}{
	{
		// 1, 2, 3
		[]string{"2|3|5", "1|3|9"},
		[4]string{"1.00000000000000000000", "0.66666666666666666667", "1.00000000000000000000", "0.81649658092772603273"},
	},
	{
		// 1.5, 2.25, 3.125, -7.75
		[]string{"2|3.75|7.3125", "2|-4.625|69.828125", "0|NULL|NULL"},
		[4]string{"25.6497395833333333", "19.2373046875000000", "5.0645571951882756", "4.3860351899523104"},
	},
	{
		// 0.1, 0.2, 0.3
		[]string{"2|0.3|0.05", "1|0.3|0.09"},
		[4]string{"0.01000000000000000000", "0.00666666666666666667", "0.10000000000000000000", "0.08164965809277260329"},
	},
	{
		// -9000000000000000000, 1, 9000000000000000000, 2, 3
		[]string{"2|-8999999999999999999|81000000000000000000000000000000000001", "3|9000000000000000005|81000000000000000000000000000000000013"},
		[4]string{"40500000000000000000000000000000000002", "32400000000000000000000000000000000001", "6363961030678927720", "5692099788303082798"},
	},
	{
		// 5: the sample forms are NULL, the population forms 0.
		[]string{"1|5|25", "0|NULL|NULL"},
		[4]string{"NULL", "0", "NULL", "0"},
	},
	{
		// 5, 5.000: a zero numerator is 0 whatever the scale.
		[]string{"1|5|25", "1|5.000|25.000000"},
		[4]string{"0", "0", "0", "0"},
	},
	{
		// 0.000000001, 123456789.123456789, 0.00000000000000000001
		[]string{"2|123456789.123456790|15241578780673678.515622620750190522", "1|0.00000000000000000001|0.0000000000000000000000000000000000000001"},
		[4]string{"5080526260224559.4640552772084997217029218107000000000000", "3387017506816372.9760368514723331478019478738000000000000", "71277810.4337146390717313639643075134060792412113", "58198088.5151425997935271803972240290636937276753"},
	},
	{
		// 1, 1, 1, 2
		[]string{"3|3|3", "1|2|4"},
		[4]string{"0.25000000000000000000", "0.18750000000000000000", "0.50000000000000000000", "0.43301270189221932338"},
	},
	{
		// 100000000000, 200000000000, 300000000000
		[]string{"2|300000000000|50000000000000000000000", "1|300000000000|90000000000000000000000"},
		[4]string{"10000000000000000000000", "6666666666666666666667", "100000000000", "81649658093"},
	},
	{
		// 0.3333, 0.6667, 1
		[]string{"2|1.0000|0.55557778", "1|1|1"},
		[4]string{"0.11112222333333333333", "0.07408148222222222222", "0.33335000124993750078", "0.27217913627282716877"},
	},
	{
		// -1, -2, -2, 7
		[]string{"2|-3|5", "1|-2|4", "1|7|49"},
		[4]string{"19.0000000000000000", "14.2500000000000000", "4.3588989435406736", "3.7749172176353748"},
	},
	{
		// 12345678901234567890, 1, 1
		[]string{"2|12345678901234567891|152415787532388367501905199875019052101", "1|1|1"},
		[4]string{"50805262510796122492404614024183305440", "33870175007197414994936409349455536960", "7127781036956461003", "5819808846276432041"},
	},
	{
		// 0.5, 0.5, 0.5, 0.5, 1
		[]string{"2|1.0|0.50", "3|2.0|1.50"},
		[4]string{"0.05000000000000000000", "0.04000000000000000000", "0.22360679774997896964", "0.20000000000000000000"},
	},
	{
		// NaN, 1, 2
		[]string{"2|NaN|NaN", "1|2|4"},
		[4]string{"NaN", "NaN", "NaN", "NaN"},
	},
	{
		// Infinity, -Infinity
		[]string{"1|Infinity|Infinity", "1|-Infinity|Infinity"},
		[4]string{"NaN", "NaN", "NaN", "NaN"},
	},
	{
		// Infinity: NULL for the sample forms (one value), else NaN.
		[]string{"1|Infinity|Infinity", "0|NULL|NULL"},
		[4]string{"NULL", "NaN", "NULL", "NaN"},
	},
}

var varianceKinds = [4]AggKind{AggVarSamp, AggVarPop, AggStddevSamp, AggStddevPop}

func TestNumericVarianceMatchesPostgres(t *testing.T) {
	for _, c := range pgVariance {
		for i, kind := range varianceKinds {
			a := &Aggregate{Aggs: []Agg{{Kind: kind, Col: 0, Type: 1700}}, Output: outputs("a0")}
			got, err := runAggregate(t, a, rows(c.partials...))
			if err != nil {
				t.Errorf("%s of %v: %v", kind, c.partials, err)
				continue
			}
			if got[0] != c.want[i] {
				t.Errorf("%s of %v = %s, PostgreSQL gives %s", kind, c.partials, got[0], c.want[i])
			}
		}
	}
}

// TestFloatVarianceCombine: float8 partials are count(x), sum(x) and
// var_pop(x); the wants are PostgreSQL's over all the values (exact in
// float8 for these values, so any split agrees).
func TestFloatVarianceCombine(t *testing.T) {
	cases := []struct {
		name     string
		partials []string
		want     [4]string
	}{
		{
			// 4, 3 | 7, 8: Sxx = 0.5 + 0.5 + 2*2*(3.5-7.5)²/4 = 17.
			name:     "two nodes",
			partials: []string{"2|7|0.25", "2|15|0.25", "0|NULL|NULL"},
			want:     [4]string{"5.666666666666667", "4.25", "2.3804761428476167", "2.0615528128088303"},
		},
		{
			// 2, -4, 3.5 | -1, -1, -1
			name:     "six values",
			partials: []string{"3|1.5|10.5", "3|-3|0"},
			want:     [4]string{"6.975", "5.8125", "2.6410225292488514", "2.4109126902482387"},
		},
		{
			name:     "one value",
			partials: []string{"0|NULL|NULL", "1|5|0"},
			want:     [4]string{"NULL", "0", "NULL", "0"},
		},
		{
			name:     "no values",
			partials: []string{"0|NULL|NULL"},
			want:     [4]string{"NULL", "NULL", "NULL", "NULL"},
		},
		{
			// An infinite input makes the node's var_pop NaN.
			name:     "infinity",
			partials: []string{"1|Infinity|NaN", "2|3|0.25"},
			want:     [4]string{"NaN", "NaN", "NaN", "NaN"},
		},
		{
			// -0 and 0 on two nodes: 0, not -0.
			name:     "signed zeros",
			partials: []string{"1|-0|0", "1|0|0"},
			want:     [4]string{"0", "0", "0", "0"},
		},
	}
	for _, c := range cases {
		for i, kind := range varianceKinds {
			a := &Aggregate{Aggs: []Agg{{Kind: kind, Col: 0, Type: 701}}, Output: outputs("a0")}
			got, err := runAggregate(t, a, rows(c.partials...))
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, kind, err)
				continue
			}
			if got[0] != c.want[i] {
				t.Errorf("%s: %s = %s, PostgreSQL gives %s", c.name, kind, got[0], c.want[i])
			}
		}
	}
}

// TestFloatVarianceOverflow: PostgreSQL raises 22003 "value out of range:
// overflow" when finite inputs give an infinite sum (float8_combine's
// float8_pl) or sum of squares.
func TestFloatVarianceOverflow(t *testing.T) {
	for _, partials := range [][]string{
		{"1|1e308|0", "1|1e308|0"},
		{"1|1e308|0", "1|-1e308|0"},
	} {
		a := &Aggregate{Aggs: []Agg{{Kind: AggVarPop, Col: 0, Type: 701}}, Output: outputs("a0")}
		got, err := runAggregate(t, a, rows(partials...))
		if pgerr.Code(err) != "22003" {
			t.Errorf("var_pop of %v = %v, %v; want error 22003", partials, got, err)
		}
	}
}

// TestCombineFloatMomentsFormula checks the merge against float8_combine's
// formulas written out for two states.
func TestCombineFloatMomentsFormula(t *testing.T) {
	n1, sx1, sxx1 := 3.0, 0.1+0.2+0.7, 0.2466666666666667
	n2, sx2, sxx2 := 4.0, 1.3+2.9+0.01+5, 17.3
	var s aggState
	if err := combineFloatMoments(&s, 3, sx1, sxx1/n1); err != nil {
		t.Fatal(err)
	}
	if err := combineFloatMoments(&s, 4, sx2, sxx2/n2); err != nil {
		t.Fatal(err)
	}
	sxx1, sxx2 = float64(sxx1/n1)*n1, float64(sxx2/n2)*n2
	tmp := sx1/n1 - sx2/n2
	want := sxx1 + sxx2 + n1*n2*tmp*tmp/(n1+n2)
	if s.count != 7 || s.f != sx1+sx2 || s.f2 != want {
		t.Errorf("state (%d, %v, %v), want (7, %v, %v)", s.count, s.f, s.f2, sx1+sx2, want)
	}
	if math.IsNaN(s.f2) {
		t.Error("NaN")
	}
}

func TestNumericSqrtRounding(t *testing.T) {
	cases := []struct {
		v      string
		rscale int
		want   string
	}{
		{"0.64000000000000000000", 20, "0.80000000000000000000"},
		{"2.00", 2, "1.41"},
		{"0.0225", 1, "0.2"}, // exactly halfway: away from zero
		{"0.0224", 1, "0.1"},
		{"10000000000000000000000", 0, "100000000000"},
		{"6666666666666666666667", 0, "81649658093"},
		{"0.66666666666666666667", 20, "0.81649658092772603273"},
	}
	for _, c := range cases {
		if got := numericSqrt(mustDecimal(t, c.v), c.rscale).Text('f'); got != c.want {
			t.Errorf("numericSqrt(%s, %d) = %s, want %s", c.v, c.rscale, got, c.want)
		}
	}
}

func TestEqualAsText(t *testing.T) {
	for typ, want := range map[uint32]bool{23: true, 25: true, 1700: true, 701: true, 1042: true, 1184: true, 17: true, 1186: false, 3802: false, 114: false, 2249: false, 1000: false} {
		if got := EqualAsText(typ); got != want {
			t.Errorf("EqualAsText(%d) = %v, want %v", typ, got, want)
		}
	}
}
