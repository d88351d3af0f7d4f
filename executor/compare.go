package executor

import (
	"bytes"
	"math"
	"strconv"

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
func Comparable(typeOID uint32) bool {
	switch typeOID {
	case oidBool, oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric,
		oidText, oidVarchar, oidBPChar, oidName, oidUUID, oidDate, oidTimestamp, oidTimestampTZ:
		return true
	}
	return false
}

// compareText compares two non-NULL text-format values of a type.
func compareText(typeOID uint32, a, b []byte) int {
	switch typeOID {
	case oidInt2, oidInt4, oidInt8, oidOID:
		x, _ := strconv.ParseInt(string(a), 10, 64)
		y, _ := strconv.ParseInt(string(b), 10, 64)
		return cmpInt(x, y)
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
			c = compareText(k.TypeOID, x, y)
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
