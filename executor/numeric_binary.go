package executor

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Sign words of PostgreSQL's binary numeric.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

// appendNumericBinary encodes a numeric in text form as PostgreSQL's
// numeric_send does: base-10000 digits without leading or trailing zero
// digits, the weight of the first digit, the sign and the display scale.
func appendNumericBinary(buf []byte, text []byte) ([]byte, error) {
	s := string(text)
	switch s {
	case "NaN":
		return appendNumericHeader(buf, 0, 0, numericNaN, 0), nil
	case "Infinity":
		return appendNumericHeader(buf, 0, 0, numericPInf, 0), nil
	case "-Infinity":
		return appendNumericHeader(buf, 0, 0, numericNInf, 0), nil
	}
	sign := uint16(numericPos)
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = numericNeg, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || strings.ContainsFunc(intPart+frac, func(r rune) bool { return r < '0' || r > '9' }) {
		return nil, fmt.Errorf("executor: invalid numeric %q", text)
	}
	dscale := len(frac)
	if pad := (4 - len(intPart)%4) % 4; pad > 0 {
		intPart = strings.Repeat("0", pad) + intPart
	}
	if pad := (4 - len(frac)%4) % 4; pad > 0 {
		frac += strings.Repeat("0", pad)
	}
	all := intPart + frac
	digits := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		d := uint16(0)
		for _, c := range all[i : i+4] {
			d = d*10 + uint16(c-'0')
		}
		digits = append(digits, d)
	}
	weight := len(intPart)/4 - 1
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return appendNumericHeader(buf, 0, 0, numericPos, dscale), nil
	}
	buf = appendNumericHeader(buf, len(digits), weight, sign, dscale)
	for _, d := range digits {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf, nil
}

func appendNumericHeader(buf []byte, ndigits, weight int, sign uint16, dscale int) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	return binary.BigEndian.AppendUint16(buf, uint16(dscale))
}
