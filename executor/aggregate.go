package executor

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/distgres/distgres/pgerr"
)

// AggKind is an aggregate the coordinator knows how to finish from the
// shards' partial results.
type AggKind int

const (
	// AggCount finishes count(...) partials: the sum of the counts.
	AggCount AggKind = iota
	// AggSum finishes sum(x) partials.
	AggSum
	AggMin
	AggMax
	// AggAvg finishes avg(x) from two partial columns: sum(x) and count(x).
	AggAvg
	// AggBoolAnd and AggBoolOr finish bool_and/every and bool_or from the
	// same aggregate's partials.
	AggBoolAnd
	AggBoolOr
	// AggBitAnd and AggBitOr finish bit_and and bit_or of integers from the
	// same aggregate's partials.
	AggBitAnd
	AggBitOr
	// AggVarSamp, AggVarPop, AggStddevSamp and AggStddevPop finish the
	// variance family from three partial columns: count(x), then for a
	// numeric result sum(x::numeric) and sum(x::numeric * x::numeric), for
	// a float8 result sum(x::float8) and var_pop(x::float8).
	AggVarSamp
	AggVarPop
	AggStddevSamp
	AggStddevPop
	// AggCountDistinct finishes count(DISTINCT x) from nodes that grouped
	// by x as well: two partial columns, x and count(x) (with the
	// aggregate's FILTER), one row per node and value.
	AggCountDistinct
	// AggStringAgg, AggArrayAgg, AggJSONAgg and AggJSONBAgg finish
	// string_agg, array_agg, json_agg and jsonb_agg from the partials
	// Agg.List describes.
	AggStringAgg
	AggArrayAgg
	AggJSONAgg
	AggJSONBAgg
)

func (k AggKind) String() string {
	return [...]string{"count", "sum", "min", "max", "avg", "bool_and", "bool_or", "bit_and", "bit_or",
		"var_samp", "var_pop", "stddev_samp", "stddev_pop", "count_distinct",
		"string_agg", "array_agg", "json_agg", "jsonb_agg"}[k]
}

// Agg is one aggregate of the coordinator's combine step.
type Agg struct {
	Kind AggKind
	// Col is the partial's column in the input (for avg, the sum column;
	// the count follows it).
	Col int
	// Type is the final result type OID (also the partial's type except
	// for avg).
	Type uint32
	// Keyed: the partial (of min or max) is followed by a numeric column
	// that orders it (the epoch of a date or timestamp).
	Keyed bool
	// ValueType is the type of the values count(DISTINCT) counts: it
	// decides which texts are one value (numeric 1.0 and 1.00 are).
	ValueType uint32
	// List describes the partials of string_agg, array_agg, json_agg and
	// jsonb_agg.
	List *ListAgg
}

// OutputCol is one output column: a group key or an aggregate.
type OutputCol struct {
	// Group is the index into GroupCols, or -1 for an aggregate.
	Group int
	Agg   int
}

// Aggregate finishes a two-phase aggregation: its input carries, per shard
// (or node), the group keys and partial aggregates in text form; it combines
// them per group and emits the final values in text form.
type Aggregate struct {
	Input      Operator
	GroupCols  []int
	GroupTypes []uint32
	Aggs       []Agg
	Output     []OutputCol
	Cols       []Column
	// Sort orders the output rows (keys index Output).
	Sort []SortKey
	// Having, if set, keeps only the groups for which it is true (over
	// the output row, before Sort).
	Having Having
}

var _ Operator = (*Aggregate)(nil)

func (a *Aggregate) Columns() []Column { return a.Cols }

func (a *Aggregate) Explain() Description {
	d := Description{Operator: "Aggregate", Inputs: []Description{Describe(a.Input)}}
	for _, g := range a.GroupCols {
		d.Detail = append(d.Detail, fmt.Sprintf("group by: column %d", g+1))
	}
	for _, ag := range a.Aggs {
		s := fmt.Sprintf("%s of partial column %d", ag.Kind, ag.Col+1)
		if ag.List != nil && len(ag.List.Keys) > 0 {
			s += fmt.Sprintf(", merged by %d key(s)", len(ag.List.Keys))
		}
		d.Detail = append(d.Detail, s)
	}
	if a.Having != nil {
		d.Detail = append(d.Detail, "having: "+a.Having.String())
	}
	return d
}

type aggState struct {
	count int64
	i     int64
	d     apd.Decimal
	f     float64
	v     []byte // min/max
	key   []byte // the numeric key of v, for keyed min/max
	have  bool
	// The variance family: the sum of squares (numeric) or of squared
	// deviations (float8), and whether a numeric NaN or infinity was seen.
	d2        apd.Decimal
	f2        float64
	nonFinite bool
	// seen holds the distinct values of count(DISTINCT).
	seen map[string]struct{}
	// list is a list aggregate's merged elements.
	list *listState
}

type group struct {
	keys   [][]byte
	states []aggState
}

func (a *Aggregate) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	var paramText [][]byte
	if a.Having != nil {
		var err error
		if paramText, err = havingParams(rt, params, a.Having); err != nil {
			return nil, err
		}
	}
	in, err := openStep(ctx, rt, a.Input, params)
	if err != nil {
		return nil, err
	}
	groups := map[string]*group{}
	var order []*group
	var key strings.Builder
	for in.Next() {
		vals := in.Values()
		key.Reset()
		for i, c := range a.GroupCols {
			if v := vals[c]; v == nil {
				key.WriteByte(0)
			} else {
				if i < len(a.GroupTypes) {
					v = groupValue(a.GroupTypes[i], v)
				}
				key.WriteByte(1)
				key.WriteString(strconv.Itoa(len(v)))
				key.WriteByte(':')
				key.Write(v)
			}
		}
		g := groups[key.String()]
		if g == nil {
			g = &group{states: make([]aggState, len(a.Aggs))}
			for _, c := range a.GroupCols {
				g.keys = append(g.keys, cloneBytes(vals[c]))
			}
			groups[key.String()] = g
			order = append(order, g)
		}
		for i, ag := range a.Aggs {
			if err := accumulate(&g.states[i], ag, vals); err != nil {
				in.Close()
				return nil, err
			}
		}
	}
	if _, err := in.Close(); err != nil {
		return nil, err
	}
	if len(a.GroupCols) == 0 && len(order) == 0 {
		order = append(order, &group{states: make([]aggState, len(a.Aggs))})
	}
	out := make([][][]byte, 0, len(order))
	for _, g := range order {
		row := make([][]byte, len(a.Output))
		for i, o := range a.Output {
			if o.Group >= 0 {
				row[i] = g.keys[o.Group]
				continue
			}
			v, err := finish(&g.states[o.Agg], a.Aggs[o.Agg])
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		if a.Having != nil {
			if v, known := a.Having.eval(row, paramText); !v || !known {
				continue
			}
		}
		out = append(out, row)
	}
	if len(a.Sort) > 0 {
		sort.SliceStable(out, func(i, j int) bool { return compareRows(a.Sort, out[i], out[j]) < 0 })
	}
	return &bufferedRows{rows: out, i: -1}, nil
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

func accumulate(s *aggState, ag Agg, vals [][]byte) error {
	v := vals[ag.Col]
	switch ag.Kind {
	case AggCount:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("executor: bad partial count %q: %w", v, err)
		}
		s.count += n
		s.have = true
	case AggSum:
		if v == nil {
			return nil
		}
		if err := addPartial(s, ag.Type, v); err != nil {
			return err
		}
		s.have = true
	case AggMin, AggMax:
		if v == nil {
			return nil
		}
		var k []byte
		if ag.Keyed {
			k = vals[ag.Col+1]
		}
		if !s.have {
			s.v, s.key, s.have = cloneBytes(v), cloneBytes(k), true
			return nil
		}
		var c int
		if ag.Keyed {
			c = cmpNumeric(k, s.key)
		} else {
			c = compareText(ag.Type, v, s.v)
		}
		if (ag.Kind == AggMin && c < 0) || (ag.Kind == AggMax && c > 0) {
			s.v = append(s.v[:0], v...)
			s.key = append(s.key[:0], k...)
		}
	case AggAvg:
		cnt := vals[ag.Col+1]
		n, err := strconv.ParseInt(string(cnt), 10, 64)
		if err != nil {
			return fmt.Errorf("executor: bad partial count %q: %w", cnt, err)
		}
		if n == 0 || v == nil {
			return nil
		}
		s.count += n
		typ := uint32(oidNumeric)
		if ag.Type == oidFloat8 {
			typ = oidFloat8
		}
		if err := addPartial(s, typ, v); err != nil {
			return err
		}
		s.have = true
	case AggBoolAnd, AggBoolOr:
		return accumulateBool(s, ag.Kind, v)
	case AggBitAnd, AggBitOr:
		return accumulateBits(s, ag.Kind, v)
	case AggVarSamp, AggVarPop, AggStddevSamp, AggStddevPop:
		return accumulateVariance(s, ag, vals)
	case AggCountDistinct:
		return accumulateDistinct(s, ag, vals)
	case AggStringAgg, AggArrayAgg, AggJSONAgg, AggJSONBAgg:
		return accumulateList(s, ag, vals)
	}
	return nil
}

func addPartial(s *aggState, typ uint32, v []byte) error {
	switch typ {
	case oidInt8, oidInt4, oidInt2:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("executor: bad partial sum %q: %w", v, err)
		}
		r := s.i + n
		if (r > s.i) != (n > 0) {
			return pgerr.New("22003", "bigint out of range")
		}
		s.i = r
	case oidFloat4:
		// float4 sums add in float4 arithmetic, as float4pl does.
		x, y := float32(s.f), float32(parseFloat(v))
		r := x + y
		if math.IsInf(float64(r), 0) && !math.IsInf(float64(x), 0) && !math.IsInf(float64(y), 0) {
			return pgerr.New("22003", "value out of range: overflow")
		}
		s.f = float64(r)
	case oidFloat8:
		x, y := s.f, parseFloat(v)
		r := x + y
		if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
			return pgerr.New("22003", "value out of range: overflow")
		}
		s.f = r
	case oidNumeric:
		var d apd.Decimal
		if _, _, err := d.SetString(string(v)); err != nil {
			return fmt.Errorf("executor: bad partial numeric %q: %w", v, err)
		}
		if !s.have {
			s.d.Set(&d)
			return nil
		}
		if _, err := numericContext.Add(&s.d, &s.d, &d); err != nil {
			return err
		}
	default:
		return pgerr.Unsupported("", "sum of type %d cannot be combined across shards", typ)
	}
	return nil
}

func finish(s *aggState, ag Agg) ([]byte, error) {
	switch ag.Kind {
	case AggCount:
		return strconv.AppendInt(nil, s.count, 10), nil
	case AggMin, AggMax:
		if !s.have {
			return nil, nil
		}
		return s.v, nil
	case AggSum:
		if !s.have {
			return nil, nil
		}
		switch ag.Type {
		case oidInt8, oidInt4, oidInt2:
			return strconv.AppendInt(nil, s.i, 10), nil
		case oidFloat8:
			return []byte(formatFloat(s.f, 64)), nil
		case oidFloat4:
			return []byte(formatFloat(float64(float32(s.f)), 32)), nil
		default:
			return []byte(s.d.Text('f')), nil
		}
	case AggAvg:
		if !s.have {
			return nil, nil
		}
		if ag.Type == oidFloat8 {
			return []byte(formatFloat(s.f/float64(s.count), 64)), nil
		}
		q, err := numericDiv(&s.d, apd.New(s.count, 0))
		if err != nil {
			return nil, err
		}
		return []byte(q.Text('f')), nil
	case AggBoolAnd, AggBoolOr:
		return finishBool(s), nil
	case AggBitAnd, AggBitOr:
		if !s.have {
			return nil, nil
		}
		return strconv.AppendInt(nil, s.i, 10), nil
	case AggVarSamp, AggVarPop, AggStddevSamp, AggStddevPop:
		return finishVariance(s, ag)
	case AggCountDistinct:
		return strconv.AppendInt(nil, int64(len(s.seen)), 10), nil
	case AggStringAgg, AggArrayAgg, AggJSONAgg, AggJSONBAgg:
		return finishList(s, ag)
	}
	return nil, fmt.Errorf("executor: unknown aggregate %d", ag.Kind)
}

// bufferedRows serves rows held in memory.
type bufferedRows struct {
	rows [][][]byte
	i    int
}

func (b *bufferedRows) Next() bool {
	b.i++
	return b.i < len(b.rows)
}
func (b *bufferedRows) Values() [][]byte { return b.rows[b.i] }
func (b *bufferedRows) Err() error       { return nil }
func (b *bufferedRows) Close() (string, error) {
	return formatTag("SELECT", int64(len(b.rows))), nil
}

// groupValue gives equal values of a type the same bytes, so that groups
// from different shards meet: numeric 1.0 and 1.00, float -0 and 0, and
// char(n) values differing in trailing spaces are one group each, as in
// PostgreSQL.
func groupValue(typ uint32, v []byte) []byte {
	switch typ {
	case oidNumeric:
		var d apd.Decimal
		if _, _, err := d.SetString(string(v)); err != nil || d.Form != apd.Finite {
			return v
		}
		d.Reduce(&d)
		if d.IsZero() {
			return []byte("0")
		}
		return []byte(d.Text('e'))
	case oidFloat4, oidFloat8:
		f := parseFloat(v)
		if f == 0 {
			return []byte("0")
		}
		return v
	case oidBPChar:
		return bytes.TrimRight(v, " ")
	}
	return v
}

// numericContext adds numerics exactly; Infinity - Infinity gives NaN, as
// in PostgreSQL, instead of an error.
var numericContext = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(4000)
	c.Traps = apd.DefaultTraps &^ apd.InvalidOperation
	return c
}()
