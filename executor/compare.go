package executor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// Type OIDs the merge operators understand.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
	oidName        = 19
)

// Comparable reports whether values of a type can be ordered by the
// coordinator from their text form exactly as PostgreSQL orders them (under
// the C collation for text).
//
// Dates and timestamps are not: their text depends on DateStyle and the
// time zone, so plans order them by a numeric epoch (see IsDateTime).
func Comparable(typeOID uint32) bool {
	switch typeOID {
	case oidBool, oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric,
		oidText, oidVarchar, oidBPChar, oidName, oidUUID:
		return true
	}
	return false
}

// IsDateTime reports the date and timestamp types, which the coordinator
// orders by extract(epoch from ...) computed on the data nodes.
func IsDateTime(typeOID uint32) bool {
	return typeOID == oidDate || typeOID == oidTimestamp || typeOID == oidTimestampTZ
}

// compareText compares two non-NULL text-format values of a type.
func compareText(typeOID uint32, a, b []byte) int {
	switch typeOID {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return cmpIntText(a, b)
	case oidFloat4, oidFloat8:
		return cmpFloat(parseFloat(a), parseFloat(b))
	case oidNumeric:
		return cmpNumeric(a, b)
	case oidBool:
		// 'f' < 't'
		return bytes.Compare(a, b)
	case oidBPChar:
		return bytes.Compare(bytes.TrimRight(a, " "), bytes.TrimRight(b, " "))
	default:
		// text, varchar, name and uuid under C ordering; ISO dates and
		// timestamps of years 1..9999 order as text.
		return bytes.Compare(a, b)
	}
}

// cmpIntText compares integers in PostgreSQL's output form (an optional
// minus sign, no leading zeros) without parsing them: by sign, then by
// number of digits, then digit by digit.
func cmpIntText(a, b []byte) int {
	negA := len(a) > 0 && a[0] == '-'
	negB := len(b) > 0 && b[0] == '-'
	switch {
	case negA && !negB:
		return -1
	case !negA && negB:
		return 1
	case negA:
		return cmpDigits(b[1:], a[1:])
	}
	return cmpDigits(a, b)
}

func cmpDigits(a, b []byte) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func parseFloat(b []byte) float64 {
	switch string(b) {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(string(b), 64)
	return f
}

// cmpFloat orders NaN above every other value, as PostgreSQL does.
func cmpFloat(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpNumeric(a, b []byte) int {
	an, bn := string(a) == "NaN", string(b) == "NaN"
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	var x, y apd.Decimal
	if _, _, err := x.SetString(string(a)); err != nil {
		return bytes.Compare(a, b)
	}
	if _, _, err := y.SetString(string(b)); err != nil {
		return bytes.Compare(a, b)
	}
	return x.Cmp(&y)
}

// SortKey orders rows by one column.
type SortKey struct {
	Col        int
	TypeOID    uint32
	Desc       bool
	NullsFirst bool
	// Binary: the column arrives in binary format (set at execution).
	Binary bool
}

// compareRows compares two rows by keys; NULLs placed per key.
func compareRows(keys []SortKey, a, b [][]byte) int {
	for _, k := range keys {
		x, y := a[k.Col], b[k.Col]
		var c int
		switch {
		case x == nil && y == nil:
			c = 0
		case x == nil:
			if k.NullsFirst {
				return -1
			}
			return 1
		case y == nil:
			if k.NullsFirst {
				return 1
			}
			return -1
		default:
			if k.Binary {
				c = compareBinary(k.TypeOID, x, y)
			} else {
				c = compareText(k.TypeOID, x, y)
			}
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareBinary compares two non-NULL binary-format values of a Comparable
// type.
func compareBinary(typeOID uint32, a, b []byte) int {
	switch typeOID {
	case oidInt2, oidInt4, oidInt8:
		return cmpInt(binaryInt(a), binaryInt(b))
	case oidOID:
		return cmpInt(int64(binary.BigEndian.Uint32(a)), int64(binary.BigEndian.Uint32(b)))
	case oidFloat4:
		return cmpFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(a))), float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
	case oidFloat8:
		return cmpFloat(math.Float64frombits(binary.BigEndian.Uint64(a)), math.Float64frombits(binary.BigEndian.Uint64(b)))
	case oidNumeric:
		return cmpNumeric(numericBinaryText(a), numericBinaryText(b))
	case oidBPChar:
		return bytes.Compare(bytes.TrimRight(a, " "), bytes.TrimRight(b, " "))
	default:
		// text, varchar, name and bool are the same bytes as their text
		// form; uuid's 16 bytes order as its hex text does.
		return bytes.Compare(a, b)
	}
}

func binaryInt(b []byte) int64 {
	switch len(b) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b)))
	case 8:
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// numericBinaryText turns PostgreSQL's binary numeric into its text form.
func numericBinaryText(b []byte) []byte {
	if len(b) < 8 {
		return nil
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	switch sign {
	case numericNaN:
		return []byte("NaN")
	case numericPInf:
		return []byte("Infinity")
	case numericNInf:
		return []byte("-Infinity")
	}
	var sb strings.Builder
	if sign == numericNeg {
		sb.WriteByte('-')
	}
	if ndigits == 0 || len(b) < 8+2*ndigits {
		return []byte("0")
	}
	// digits as a decimal integer, then place the point: the value is
	// digits * 10000^(weight-ndigits+1).
	for i := 0; i < ndigits; i++ {
		d := binary.BigEndian.Uint16(b[8+2*i:])
		fmt.Fprintf(&sb, "%04d", d)
	}
	exp := 4 * (weight - ndigits + 1)
	fmt.Fprintf(&sb, "e%d", exp)
	return []byte(sb.String())
}
