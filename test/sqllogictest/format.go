package sqllogictest

import (
	"math/big"
	"strconv"
	"strings"
)

// maxDecimalShift bounds how many more digits than its text has FormatValue
// writes for a number (e.g. "1e+5000"); larger values are shown as text.
// PostgreSQL prints float exponents only up to about ±324, and numeric
// values without exponents.
const maxDecimalShift = 4096

// FormatValue renders one value as the sqllogictest convention for a column
// of the given type letter ('I', 'R', 'T'); v is PostgreSQL's text output,
// nil for NULL. Any other letter (pass 0 when a query has fewer type letters
// than columns) is treated as 'T'.
//
//   - NULL is "NULL" for every letter.
//   - 'I': a number is truncated toward zero to an integer, as C's
//     (long long) cast does, but without its 64-bit limit ("3.75" → "3",
//     "-2.5" → "-2", "-0.5" → "0", "1e+20" → "100000000000000000000");
//     the booleans "t" and "f" are "1" and "0". Anything else, including
//     "NaN" and "±Infinity", is shown as with 'T'.
//   - 'R': a number is printed with "%.3f" ("t" and "f" as 1.000 and 0.000);
//     anything else, including "NaN" and "±Infinity", as with 'T'.
//   - 'T': the empty string is "(empty)"; every character outside printable
//     ASCII (0x20 to 0x7E) becomes one '@' (an invalid UTF-8 byte also
//     counts as one character).
func FormatValue(letter byte, v *string) string {
	if v == nil {
		return "NULL"
	}
	s := *v
	switch letter {
	case 'I':
		if out, ok := formatInteger(s); ok {
			return out
		}
	case 'R':
		if out, ok := formatReal(s); ok {
			return out
		}
	}
	return formatText(s)
}

// formatInteger renders a boolean or a number as an integer truncated toward
// zero. It reports false when s is neither.
func formatInteger(s string) (string, bool) {
	switch s {
	case "t":
		return "1", true
	case "f":
		return "0", true
	}
	d, ok := parseDecimal(s)
	if !ok {
		return "", false
	}
	// The integer part is the first d.point digits, padded with zeros
	// when the point lies beyond the digits.
	if d.point <= 0 {
		return "0", true
	}
	if d.point-len(d.digits) > len(s)+maxDecimalShift {
		return "", false
	}
	var whole string
	if d.point >= len(d.digits) {
		whole = d.digits + strings.Repeat("0", d.point-len(d.digits))
	} else {
		whole = d.digits[:d.point]
	}
	if d.neg {
		return "-" + whole, true
	}
	return whole, true
}

// formatReal renders a boolean or a number with three decimals. It reports
// false when s is neither.
func formatReal(s string) (string, bool) {
	switch s {
	case "t":
		return "1.000", true
	case "f":
		return "0.000", true
	}
	d, ok := parseDecimal(s)
	if !ok {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err == nil {
		return strconv.FormatFloat(f, 'f', 3, 64), true
	}
	// Beyond float64's range (numeric can hold more): print exactly.
	if d.point > len(s)+maxDecimalShift || d.point < -(len(s)+maxDecimalShift) {
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	return r.FloatString(3), true
}

// decimal is a number in plain or scientific decimal notation, reduced to
// its significant digits: the value is 0.digits × 10^point, negated if neg.
// digits has no leading zeros and is "" for zero.
type decimal struct {
	neg    bool
	digits string
	point  int
}

// maxExponent bounds the exponent parseDecimal accepts.
const maxExponent = 1 << 20

// parseDecimal parses [+-]digits[.digits][(e|E)[+-]digits] with at least
// one mantissa digit and an exponent of at most maxExponent in magnitude.
// It rejects everything else, including "NaN", "Infinity", hexadecimal and
// surrounding spaces.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	var fracPart string
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracPart = s[fracStart:i]
	}
	if intPart == "" && fracPart == "" {
		return decimal{}, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expStart := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		digitsStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == digitsStart {
			return decimal{}, false
		}
		var err error
		if exp, err = strconv.Atoi(s[expStart:i]); err != nil {
			return decimal{}, false
		}
	}
	if i != len(s) {
		return decimal{}, false
	}
	all := intPart + fracPart
	trimmed := strings.TrimLeft(all, "0")
	d.digits = strings.TrimRight(trimmed, "0")
	if d.digits == "" {
		return decimal{neg: d.neg}, true
	}
	if exp > maxExponent || exp < -maxExponent {
		return decimal{}, false
	}
	d.point = len(intPart) - (len(all) - len(trimmed)) + exp
	return d, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// formatText renders text: "(empty)" for the empty string, '@' for each
// character outside printable ASCII.
func formatText(s string) string {
	if s == "" {
		return "(empty)"
	}
	printable := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			b.WriteRune(r)
		} else {
			b.WriteByte('@')
		}
	}
	return b.String()
}
