package executor

import (
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/distgres/distgres/pgerr"
)

// numericDiv divides as PostgreSQL's numeric_div does, including its choice
// of result scale (select_div_scale) and round-half-away-from-zero, so that
// avg combined on the coordinator prints exactly what PostgreSQL prints.
func numericDiv(num, den *apd.Decimal) (*apd.Decimal, error) {
	const (
		minSigDigits   = 16
		maxDisplayScal = 1000
	)
	switch {
	case num.Form == apd.NaN || den.Form == apd.NaN || (num.Form == apd.Infinite && den.Form == apd.Infinite):
		return &apd.Decimal{Form: apd.NaN}, nil
	case den.Form == apd.Finite && den.IsZero():
		return nil, pgerr.New("22012", "division by zero")
	case num.Form == apd.Infinite:
		return &apd.Decimal{Form: apd.Infinite, Negative: num.Negative != den.Negative}, nil
	case den.Form == apd.Infinite:
		return apd.New(0, 0), nil
	}
	w1, f1 := baseWeight(num)
	w2, f2 := baseWeight(den)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rscale := minSigDigits - qweight*4
	rscale = max(rscale, dscale(num), dscale(den), 0)
	rscale = min(rscale, maxDisplayScal)

	digits := int64(decimalPos(num)-decimalPos(den)) + int64(rscale) + 12
	if digits < 20 {
		digits = 20
	}
	ctx := apd.BaseContext.WithPrecision(uint32(digits))
	ctx.Rounding = apd.RoundDown
	var q apd.Decimal
	if _, err := ctx.Quo(&q, num, den); err != nil {
		return nil, err
	}
	ctx.Rounding = apd.RoundHalfUp
	var r apd.Decimal
	if _, err := ctx.Quantize(&r, &q, -int32(rscale)); err != nil {
		return nil, err
	}
	if r.IsZero() {
		r.Negative = false // PostgreSQL has no negative zero
	}
	return &r, nil
}

// dscale is the number of digits after the decimal point.
func dscale(d *apd.Decimal) int {
	if d.Exponent < 0 {
		return int(-d.Exponent)
	}
	return 0
}

// decimalPos is the power of ten of the most significant digit (0 for zero).
func decimalPos(d *apd.Decimal) int {
	if d.Coeff.Sign() == 0 {
		return 0
	}
	return len(d.Coeff.String()) - 1 + int(d.Exponent)
}

// baseWeight returns PostgreSQL's weight (in base-10000 digits) and the
// value of the first base-10000 digit of d.
func baseWeight(d *apd.Decimal) (weight, first int) {
	if d.Coeff.Sign() == 0 {
		return 0, 0
	}
	p := decimalPos(d)
	weight = p / 4
	if p < 0 && p%4 != 0 {
		weight--
	}
	n := p - 4*weight + 1 // decimal digits in the first base-10000 digit
	s := d.Coeff.String()
	if len(s) < n {
		s += strings.Repeat("0", n-len(s))
	}
	first, _ = strconv.Atoi(s[:n])
	return weight, first
}
