package executor

import (
	"math"
	"strconv"
	"strings"
)

// formatFloat prints a float as PostgreSQL does with the default
// extra_float_digits (shortest exact form, scientific notation below 1e-4
// and from 1e15 for float8, 1e6 for float4).
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	sciFrom := 15
	if bits == 32 {
		sciFrom = 6
	}
	e := strconv.FormatFloat(f, 'e', -1, bits)
	i := strings.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp < -4 || exp >= sciFrom {
		mant := e[:i]
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}
