package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PostgreSQL type OIDs of the distribution column types the coordinator can
// hash itself.
const (
	OIDBool        uint32 = 16
	OIDBytea       uint32 = 17
	OIDInt8        uint32 = 20
	OIDInt2        uint32 = 21
	OIDInt4        uint32 = 23
	OIDText        uint32 = 25
	OIDBPChar      uint32 = 1042
	OIDVarchar     uint32 = 1043
	OIDDate        uint32 = 1082
	OIDTimestamp   uint32 = 1114
	OIDTimestampTZ uint32 = 1184
	OIDUUID        uint32 = 2950
)

var (
	// ErrUnhashableType is returned for a type OID whose PostgreSQL hash
	// function the coordinator does not implement.
	ErrUnhashableType = errors.New("catalog: type is not hashable by the coordinator")
	// ErrInvalidDatum is returned when a value is not a valid text or
	// binary representation of its type, or uses a text form the
	// coordinator does not parse.
	ErrInvalidDatum = errors.New("catalog: invalid datum")
)

// Hashable reports whether HashDatum and HashBinaryDatum support typeOID.
func Hashable(typeOID uint32) bool {
	switch typeOID {
	case OIDBool, OIDBytea, OIDInt8, OIDInt2, OIDInt4, OIDText, OIDBPChar,
		OIDVarchar, OIDDate, OIDTimestamp, OIDTimestampTZ, OIDUUID:
		return true
	}
	return false
}

// HashDatum parses text, the PostgreSQL text representation of a value of
// type typeOID, and returns the value's PostgreSQL hash.
//
// Besides the plain forms of each type, it accepts: surrounding whitespace
// for integers, bool, date and timestamps; every spelling boolin accepts;
// bytea in hex ("\x0a0b") and escape format; uuids with or without braces
// and hyphens; dates as "YYYY-MM-DD", "epoch", "infinity" and "-infinity";
// timestamps as "YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][ ][zone]" where zone
// is Z, UTC, GMT or a numeric offset (+HH, +HHMM, +HH:MM, +HH:MM:SS), plus
// "epoch", "infinity" and "-infinity". Other forms PostgreSQL would accept
// (other date styles, named time zones, BC years) are reported as
// ErrInvalidDatum rather than guessed.
//
// A timestamp without time zone ignores a zone in the input, as PostgreSQL
// does. A timestamptz without a zone is taken as UTC, which matches only a
// session whose TimeZone is UTC; callers must otherwise add the zone.
func HashDatum(typeOID uint32, text string) (int32, error) {
	h, err := hashText(typeOID, text)
	if err != nil {
		return 0, fmt.Errorf("hash %q as type %d: %w", text, typeOID, err)
	}
	return h, nil
}

func hashText(typeOID uint32, text string) (int32, error) {
	switch typeOID {
	case OIDInt2, OIDInt4:
		v, err := parseInt(text, intBits(typeOID))
		if err != nil {
			return 0, err
		}
		return HashInt4(int32(v)), nil
	case OIDInt8:
		v, err := parseInt(text, 64)
		if err != nil {
			return 0, err
		}
		return HashInt8(v), nil
	case OIDText, OIDVarchar:
		return HashText(text), nil
	case OIDBPChar:
		return HashBPChar(text), nil
	case OIDBool:
		v, err := parseBool(text)
		if err != nil {
			return 0, err
		}
		return HashBool(v), nil
	case OIDBytea:
		b, err := parseBytea(text)
		if err != nil {
			return 0, err
		}
		return HashBytes(b), nil
	case OIDUUID:
		u, err := parseUUID(text)
		if err != nil {
			return 0, err
		}
		return HashBytes(u[:]), nil
	case OIDDate:
		d, err := parseDate(text)
		if err != nil {
			return 0, err
		}
		return HashDate(d), nil
	case OIDTimestamp, OIDTimestampTZ:
		ts, err := parseTimestamp(text, typeOID == OIDTimestampTZ)
		if err != nil {
			return 0, err
		}
		return HashTimestamp(ts), nil
	}
	return 0, ErrUnhashableType
}

// HashBinaryDatum returns the PostgreSQL hash of b, a value of type typeOID
// in PostgreSQL's binary wire format (as sent in Bind with format code 1).
// Text-like values are assumed to be in the database encoding.
func HashBinaryDatum(typeOID uint32, b []byte) (int32, error) {
	h, err := hashBinary(typeOID, b)
	if err != nil {
		return 0, fmt.Errorf("hash %d binary bytes as type %d: %w", len(b), typeOID, err)
	}
	return h, nil
}

func hashBinary(typeOID uint32, b []byte) (int32, error) {
	switch typeOID {
	case OIDInt2:
		if len(b) != 2 {
			return 0, errBinaryLength(2, b)
		}
		return HashInt4(int32(int16(binary.BigEndian.Uint16(b)))), nil
	case OIDInt4, OIDDate:
		if len(b) != 4 {
			return 0, errBinaryLength(4, b)
		}
		return HashInt4(int32(binary.BigEndian.Uint32(b))), nil
	case OIDInt8, OIDTimestamp, OIDTimestampTZ:
		if len(b) != 8 {
			return 0, errBinaryLength(8, b)
		}
		return HashInt8(int64(binary.BigEndian.Uint64(b))), nil
	case OIDText, OIDVarchar, OIDBytea:
		return HashBytes(b), nil
	case OIDBPChar:
		return HashBPChar(string(b)), nil
	case OIDBool:
		if len(b) != 1 {
			return 0, errBinaryLength(1, b)
		}
		// boolrecv treats any non-zero byte as true.
		return HashBool(b[0] != 0), nil
	case OIDUUID:
		if len(b) != 16 {
			return 0, errBinaryLength(16, b)
		}
		return HashBytes(b), nil
	}
	return 0, ErrUnhashableType
}

func errBinaryLength(want int, b []byte) error {
	return fmt.Errorf("%w: want %d bytes, got %d", ErrInvalidDatum, want, len(b))
}

// trimSpace removes the characters C's isspace accepts, which PostgreSQL's
// input functions skip around a value.
func trimSpace(s string) string {
	return strings.Trim(s, " \t\n\v\f\r")
}

func intBits(typeOID uint32) int {
	if typeOID == OIDInt2 {
		return 16
	}
	return 32
}

// parseInt parses a decimal integer the way PostgreSQL 15's int2in, int4in
// and int8in do: optional sign, decimal digits, optional whitespace around.
func parseInt(text string, bitSize int) (int64, error) {
	v, err := strconv.ParseInt(trimSpace(text), 10, bitSize)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidDatum, err)
	}
	return v, nil
}

// parseBool accepts what PostgreSQL's boolin accepts: any case-insensitive
// prefix of true, false, yes or no; on, of or off; 1 or 0.
func parseBool(text string) (bool, error) {
	s := strings.ToLower(trimSpace(text))
	prefixOf := func(word string, minLen int) bool {
		return len(s) >= minLen && strings.HasPrefix(word, s)
	}
	switch {
	case prefixOf("true", 1), prefixOf("yes", 1), prefixOf("on", 2), s == "1":
		return true, nil
	case prefixOf("false", 1), prefixOf("no", 1), prefixOf("off", 2), s == "0":
		return false, nil
	}
	return false, fmt.Errorf("%w: bad bool %q", ErrInvalidDatum, text)
}

// parseBytea decodes bytea's hex ("\x...") or escape text format.
func parseBytea(text string) ([]byte, error) {
	if hex, ok := strings.CutPrefix(text, `\x`); ok {
		return parseByteaHex(hex)
	}
	return parseByteaEscape(text)
}

func parseByteaHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/2)
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			// byteain allows whitespace between digit pairs.
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("%w: odd number of hex digits in bytea", ErrInvalidDatum)
		}
		hi, ok1 := hexDigit(s[i])
		lo, ok2 := hexDigit(s[i+1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: bad hex digit in bytea", ErrInvalidDatum)
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, nil
}

func parseByteaEscape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i += 2
		case i+3 < len(s) && isOctal(s[i+1], '3') && isOctal(s[i+2], '7') && isOctal(s[i+3], '7'):
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
		default:
			return nil, fmt.Errorf("%w: bad escape in bytea", ErrInvalidDatum)
		}
	}
	return out, nil
}

func isOctal(c, max byte) bool {
	return c >= '0' && c <= max
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseUUID accepts what PostgreSQL's uuid_in accepts: 32 hex digits,
// optionally enclosed in braces, with an optional hyphen after any group of
// four digits (except the last).
func parseUUID(text string) ([16]byte, error) {
	var u [16]byte
	s := text
	braces := strings.HasPrefix(s, "{")
	if braces {
		s = s[1:]
	}
	for i := range u {
		if len(s) < 2 {
			return u, fmt.Errorf("%w: bad uuid %q", ErrInvalidDatum, text)
		}
		hi, ok1 := hexDigit(s[0])
		lo, ok2 := hexDigit(s[1])
		if !ok1 || !ok2 {
			return u, fmt.Errorf("%w: bad uuid %q", ErrInvalidDatum, text)
		}
		u[i] = hi<<4 | lo
		s = s[2:]
		if i%2 == 1 && i < len(u)-1 && strings.HasPrefix(s, "-") {
			s = s[1:]
		}
	}
	if braces {
		var ok bool
		if s, ok = strings.CutPrefix(s, "}"); !ok {
			return u, fmt.Errorf("%w: bad uuid %q", ErrInvalidDatum, text)
		}
	}
	if s != "" {
		return u, fmt.Errorf("%w: bad uuid %q", ErrInvalidDatum, text)
	}
	return u, nil
}
