package executor

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// formatFloat prints a float as PostgreSQL does with the default
// extra_float_digits: the shortest digits that read back as the same value
// (never a string that lies exactly halfway to a neighbour, which
// PostgreSQL's shortest-digit search does not accept), in scientific
// notation below 1e-4 and from 1e15 for float8 (1e6 for float4).
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
	e := strconv.FormatFloat(f, 'e', -1, bits)
	for halfway(e, f, bits) {
		mant := e[:strings.IndexByte(e, 'e')]
		digits := len(strings.TrimLeft(strings.ReplaceAll(mant, ".", ""), "-"))
		e = strconv.FormatFloat(f, 'e', digits, bits) // one digit more
	}
	i := strings.IndexByte(e, 'e')
	mant := e[:i]
	exp, _ := strconv.Atoi(e[i+1:])
	sciFrom := 15
	if bits == 32 {
		sciFrom = 6
	}
	if exp < -4 || exp >= sciFrom {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		es := strconv.Itoa(exp)
		if len(es) < 2 {
			es = "0" + es
		}
		return mant + "e" + sign + es
	}
	neg := strings.HasPrefix(mant, "-")
	d := strings.ReplaceAll(strings.TrimPrefix(mant, "-"), ".", "")
	var out string
	if exp >= 0 {
		if len(d) <= exp+1 {
			out = d + strings.Repeat("0", exp+1-len(d))
		} else {
			out = d[:exp+1] + "." + d[exp+1:]
		}
	} else {
		out = "0." + strings.Repeat("0", -exp-1) + d
	}
	if neg {
		out = "-" + out
	}
	return out
}

// halfway reports whether the decimal s lies exactly halfway between f and
// one of its neighbouring floats.
func halfway(s string, f float64, bits int) bool {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return false
	}
	var lo, hi float64
	if bits == 32 {
		lo = float64(math.Nextafter32(float32(f), float32(math.Inf(-1))))
		hi = float64(math.Nextafter32(float32(f), float32(math.Inf(1))))
	} else {
		lo = math.Nextafter(f, math.Inf(-1))
		hi = math.Nextafter(f, math.Inf(1))
	}
	fr := new(big.Rat).SetFloat64(f)
	for _, n := range []float64{lo, hi} {
		if math.IsInf(n, 0) {
			continue
		}
		mid := new(big.Rat).Add(fr, new(big.Rat).SetFloat64(n))
		mid.Quo(mid, big.NewRat(2, 1))
		if mid.Cmp(r) == 0 {
			return true
		}
	}
	return false
}
