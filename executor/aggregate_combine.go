package executor

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cockroachdb/apd/v3"
	"github.com/distgres/distgres/pgerr"
)

// Combining the partials of bool_and/bool_or, bit_and/bit_or, the variance
// family and count(DISTINCT). Each function reads one aggregate's partial
// columns of one input row (see the AggKind constants for the layout).

// exactContext adds and multiplies numerics without rounding (precision 0
// turns rounding off): the variance numerator must be exact, as in
// PostgreSQL.
var exactContext = func() *apd.Context {
	c := apd.BaseContext
	return &c
}()

// accumulateBool ANDs or ORs a non-null bool partial into the state (s.i
// holds 0 or 1); NULL partials (nodes without values) do not count.
func accumulateBool(s *aggState, kind AggKind, v []byte) error {
	if v == nil {
		return nil
	}
	var b int64
	switch string(v) {
	case "t":
		b = 1
	case "f":
	default:
		return fmt.Errorf("executor: bad partial bool %q", v)
	}
	andOr(s, kind == AggBoolAnd, b)
	return nil
}

// andOr combines a partial into the state with AND or OR.
func andOr(s *aggState, and bool, n int64) {
	switch {
	case !s.have:
		s.i = n
	case and:
		s.i &= n
	default:
		s.i |= n
	}
	s.have = true
}

func finishBool(s *aggState) []byte {
	switch {
	case !s.have:
		return nil
	case s.i != 0:
		return []byte("t")
	}
	return []byte("f")
}

// accumulateBits ANDs or ORs an integer partial into the state. The result
// has the input's type, and AND/OR of values of a type stays in its range.
func accumulateBits(s *aggState, kind AggKind, v []byte) error {
	if v == nil {
		return nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return fmt.Errorf("executor: bad partial %s %q: %w", kind, v, err)
	}
	andOr(s, kind == AggBitAnd, n)
	return nil
}

// accumulateDistinct adds a node's value of x to the group's set when the
// node counted it (x not NULL, and the FILTER true for one of its rows).
func accumulateDistinct(s *aggState, ag Agg, vals [][]byte) error {
	v := vals[ag.Col]
	n, err := parseCount(vals[ag.Col+1])
	if err != nil {
		return err
	}
	if v == nil || n == 0 {
		return nil
	}
	if s.seen == nil {
		s.seen = map[string]struct{}{}
	}
	s.seen[string(groupValue(ag.ValueType, v))] = struct{}{}
	return nil
}

func parseCount(v []byte) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("executor: bad partial count %q: %w", v, err)
	}
	return n, nil
}

// accumulateVariance adds one node's count, sum and third partial to the
// group's state. A node that saw no values adds nothing, as in
// PostgreSQL's combine functions.
func accumulateVariance(s *aggState, ag Agg, vals [][]byte) error {
	n, err := parseCount(vals[ag.Col])
	if err != nil || n == 0 {
		return err
	}
	sum, third := vals[ag.Col+1], vals[ag.Col+2]
	if sum == nil || third == nil {
		return fmt.Errorf("executor: %s partials of %d values are NULL", ag.Kind, n)
	}
	if ag.Type == oidFloat8 {
		return combineFloatMoments(s, n, parseFloat(sum), parseFloat(third))
	}
	return addNumericMoments(s, n, sum, third)
}

// combineFloatMoments merges a node's (N, Sx, Sxx) into the state (count,
// f, f2) with the formulas of PostgreSQL's float8_combine (Chan et al.'s
// parallel form of the Youngs-Cramer algorithm). The node sends var_pop,
// Sxx/N, so Sxx is recovered as var_pop*N.
//
// Exact agreement with PostgreSQL is impossible in general: a single
// PostgreSQL accumulates all rows one by one (float8_accum), distgres
// combines per-node states, which rounds differently (as PostgreSQL's own
// parallel aggregation does), and var_pop*N need not give back the node's
// Sxx bit for bit. The last digits of the result can then differ (in about
// a quarter of random splits of random data, by an ulp or a few). Inputs
// whose running sums and squared deviations are exact in float8 (e.g.
// small integers and halves in small groups) agree exactly.
func combineFloatMoments(s *aggState, n int64, sx2, varPop float64) error {
	n2 := float64(n)
	// Explicit conversions keep each product rounded on its own (no fused
	// multiply-add), as in PostgreSQL's C.
	sxx2 := float64(varPop * n2)
	if !s.have {
		s.count, s.f, s.f2, s.have = n, sx2, sxx2, true
		return nil
	}
	n1 := float64(s.count)
	sx1, sxx1 := s.f, s.f2
	sx := sx1 + sx2
	if math.IsInf(sx, 0) && !math.IsInf(sx1, 0) && !math.IsInf(sx2, 0) {
		return pgerr.New("22003", "value out of range: overflow")
	}
	total := float64(n1 + n2)
	tmp := float64(sx1/n1) - float64(sx2/n2)
	sxx := float64(sxx1+sxx2) + float64(float64(float64(float64(n1*n2)*tmp)*tmp)/total)
	if math.IsInf(sxx, 0) && !math.IsInf(sxx1, 0) && !math.IsInf(sxx2, 0) {
		return pgerr.New("22003", "value out of range: overflow")
	}
	s.count += n
	s.f, s.f2 = sx, sxx
	return nil
}

// addNumericMoments adds a node's exact sum(x) and sum(x*x) into the state
// (d and d2). A NaN or infinity among the inputs makes the result NaN, as
// in PostgreSQL; such a node's sums are NaN or infinite.
func addNumericMoments(s *aggState, n int64, sum, sumSq []byte) error {
	var x, x2 apd.Decimal
	if _, _, err := x.SetString(string(sum)); err != nil {
		return fmt.Errorf("executor: bad partial numeric %q: %w", sum, err)
	}
	if _, _, err := x2.SetString(string(sumSq)); err != nil {
		return fmt.Errorf("executor: bad partial numeric %q: %w", sumSq, err)
	}
	s.count += n
	if x.Form != apd.Finite || x2.Form != apd.Finite {
		s.nonFinite = true
	}
	switch {
	case s.nonFinite:
	case !s.have:
		s.d.Set(&x)
		s.d2.Set(&x2)
	default:
		if _, err := exactContext.Add(&s.d, &s.d, &x); err != nil {
			return fmt.Errorf("executor: combining numeric sums: %w", err)
		}
		if _, err := exactContext.Add(&s.d2, &s.d2, &x2); err != nil {
			return fmt.Errorf("executor: combining numeric sums of squares: %w", err)
		}
	}
	s.have = true
	return nil
}

// finishVariance computes the final value: NULL without values (and for
// the sample forms with one value), as PostgreSQL.
func finishVariance(s *aggState, ag Agg) ([]byte, error) {
	sample := ag.Kind == AggVarSamp || ag.Kind == AggStddevSamp
	root := ag.Kind == AggStddevSamp || ag.Kind == AggStddevPop
	if s.count == 0 || (sample && s.count == 1) {
		return nil, nil
	}
	if ag.Type == oidFloat8 {
		return []byte(formatFloat(floatVariance(s.count, s.f2, sample, root), 64)), nil
	}
	if s.nonFinite {
		return []byte("NaN"), nil
	}
	v, err := numericVariance(s.count, &s.d, &s.d2, sample, root)
	if err != nil {
		return nil, err
	}
	return []byte(v.Text('f')), nil
}

// floatVariance finishes as float8_var_samp, float8_var_pop,
// float8_stddev_samp and float8_stddev_pop do.
func floatVariance(n int64, sxx float64, sample, root bool) float64 {
	den := float64(n)
	if sample {
		den--
	}
	v := sxx / den
	if root {
		v = math.Sqrt(v)
	}
	return v
}

// numericVariance finishes as PostgreSQL's numeric_stddev_internal: the
// exact numerator N*sum(x²) - sum(x)² at twice the scale of sum(x), zero
// when not positive, divided by N*(N-1) or N*N at select_div_scale's
// scale (numericDiv), and for stddev the square root of that rounded
// quotient at the same scale.
func numericVariance(n int64, sum, sumSq *apd.Decimal, sample, root bool) (*apd.Decimal, error) {
	count := apd.New(n, 0)
	var sq, nSumSq, numer, den apd.Decimal
	if _, err := exactContext.Mul(&sq, sum, sum); err != nil {
		return nil, fmt.Errorf("executor: variance: %w", err)
	}
	if _, err := exactContext.Mul(&nSumSq, count, sumSq); err != nil {
		return nil, fmt.Errorf("executor: variance: %w", err)
	}
	if _, err := exactContext.Sub(&numer, &nSumSq, &sq); err != nil {
		return nil, fmt.Errorf("executor: variance: %w", err)
	}
	if numer.Sign() <= 0 {
		return apd.New(0, 0), nil
	}
	if err := setScale(&numer, 2*dscale(sum)); err != nil {
		return nil, err
	}
	other := apd.New(n, 0)
	if sample {
		other = apd.New(n-1, 0)
	}
	if _, err := exactContext.Mul(&den, count, other); err != nil {
		return nil, fmt.Errorf("executor: variance: %w", err)
	}
	v, err := numericDiv(&numer, &den)
	if err != nil || !root {
		return v, err
	}
	return numericSqrt(v, dscale(v)), nil
}

// setScale gives d exactly scale digits after the point, rounding half
// away from zero when it has more (as mul_var rounds to its rscale).
func setScale(d *apd.Decimal, scale int) error {
	shift := int(-d.Exponent) - scale
	if shift <= 0 {
		var p apd.BigInt
		p.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(-shift)), nil)
		d.Coeff.Mul(&d.Coeff, &p)
		d.Exponent = -int32(scale)
		return nil
	}
	c := apd.BaseContext.WithPrecision(uint32(d.NumDigits()) + 1)
	c.Rounding = apd.RoundHalfUp
	if _, err := c.Quantize(d, d, -int32(scale)); err != nil {
		return fmt.Errorf("executor: variance scale: %w", err)
	}
	return nil
}

// numericSqrt returns the square root of v >= 0 with rscale digits after
// the point, rounded half up: the exact root truncated to one more digit
// decides the rounding, which is what PostgreSQL's sqrt_var produces.
func numericSqrt(v *apd.Decimal, rscale int) *apd.Decimal {
	// v = c * 10^e; floor(sqrt(v) * 10^(rscale+1)) is
	// floor(sqrt(c * 10^(e + 2*rscale + 2))), and flooring the radicand
	// first does not change the floor of the root.
	k := int64(v.Exponent) + 2*int64(rscale) + 2
	var radicand, p apd.BigInt
	radicand.Set(&v.Coeff)
	if k >= 0 {
		p.Exp(apd.NewBigInt(10), apd.NewBigInt(k), nil)
		radicand.Mul(&radicand, &p)
	} else {
		p.Exp(apd.NewBigInt(10), apd.NewBigInt(-k), nil)
		radicand.Quo(&radicand, &p)
	}
	var t, digit apd.BigInt
	t.Sqrt(&radicand)
	t.QuoRem(&t, apd.NewBigInt(10), &digit)
	if digit.Int64() >= 5 {
		t.Add(&t, apd.NewBigInt(1))
	}
	r := &apd.Decimal{Exponent: -int32(rscale)}
	r.Coeff.Set(&t)
	return r
}

// EqualAsText reports whether the coordinator may tell equal values of a
// type from their text (group keys, DISTINCT, count(DISTINCT)): equal
// values print alike (after groupValue's normalization of numeric, float
// and char(n)), and unequal values differently. Intervals ('1 day' = '24
// hours'), jsonb and arrays of such types are not.
func EqualAsText(typeOID uint32) bool {
	switch typeOID {
	case oidBool, oidBytea, oidInt2, oidInt4, oidInt8, oidOID, oidText, oidVarchar, oidBPChar, oidName,
		oidNumeric, oidFloat4, oidFloat8, oidDate, oidTimestamp, oidTimestampTZ, oidUUID:
		return true
	}
	return false
}
