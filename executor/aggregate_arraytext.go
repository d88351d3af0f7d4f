package executor

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Reading and writing PostgreSQL's text form of arrays, as array_out
// prints them, for the partials of string_agg, array_agg, json_agg and
// jsonb_agg: elements are separated by the element type's delimiter (','
// for every built-in type but box), quoted with backslash escapes when
// they hold a delimiter, brace, quote, backslash or white space, are empty
// or read NULL; a NULL element is the bare word NULL; a multidimensional
// array nests braces, and is prefixed by its bounds ("[1:2][0:1]=") when a
// lower bound is not 1.

// arrayText is an array's text form split at its top level.
type arrayText struct {
	// inner is the bounds decoration after the first dimension's
	// ("[0:1]" of "[1:2][0:1]="), empty when every lower bound is 1.
	inner []byte
	// elems are the top-level elements as printed: quoted or not, or
	// whole sub-arrays of a multidimensional array.
	elems [][]byte
}

var errBadArray = errors.New("malformed array text")

// parseArrayText splits an array's text form with element delimiter
// delim into its top-level elements.
func parseArrayText(s []byte, delim byte) (arrayText, error) {
	var a arrayText
	if len(s) > 0 && s[0] == '[' {
		eq := bytes.IndexByte(s, '=')
		end := bytes.IndexByte(s, ']')
		if eq < 0 || end < 0 || end > eq {
			return a, errBadArray
		}
		a.inner = s[end+1 : eq]
		s = s[eq+1:]
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return a, errBadArray
	}
	body := s[1 : len(s)-1]
	for i := 0; i < len(body); {
		n, err := elementLen(body[i:], delim)
		if err != nil {
			return a, err
		}
		a.elems = append(a.elems, body[i:i+n])
		i += n
		switch {
		case i == len(body):
		case body[i] == delim && i+1 < len(body):
			i++
		default:
			return a, errBadArray
		}
	}
	return a, nil
}

// elementLen returns the length of the element (a sub-array, a quoted or
// a bare element) that s starts with.
func elementLen(s []byte, delim byte) (int, error) {
	if len(s) == 0 {
		return 0, errBadArray
	}
	switch s[0] {
	case '{':
		depth, quoted := 0, false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == '{':
				depth++
			case c == '}':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
	case '"':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
	default:
		for i, c := range s {
			if c == delim || c == '"' || c == '{' || c == '}' || c == '\\' {
				if i == 0 {
					return 0, errBadArray
				}
				return i, nil
			}
		}
		return len(s), nil
	}
	return 0, errBadArray
}

// elementValue returns an element's value: nil for NULL, otherwise the
// text with quotes and escapes removed (never nil).
func elementValue(e []byte) []byte {
	if string(e) == "NULL" {
		return nil
	}
	if len(e) < 2 || e[0] != '"' {
		return append([]byte{}, e...)
	}
	out := make([]byte, 0, len(e)-2)
	for i := 1; i < len(e)-1; i++ {
		if e[i] == '\\' {
			i++
		}
		out = append(out, e[i])
	}
	return out
}

// arrayShape describes the dimensions below the first of an array split
// as a: two arrays can be stacked into one (as array_agg of arrays does)
// only if their shapes are equal.
func arrayShape(a arrayText, delim byte) (string, error) {
	b := append([]byte{}, a.inner...)
	if len(a.elems) == 0 {
		return string(b), nil
	}
	b = append(b, '|')
	// A rectangular array has the same lengths everywhere: follow the
	// first elements down.
	for e := a.elems[0]; len(e) > 1 && e[0] == '{'; {
		sub, err := parseArrayText(e, delim)
		if err != nil {
			return "", err
		}
		b = strconv.AppendInt(b, int64(len(sub.elems)), 10)
		b = append(b, ',')
		if len(sub.elems) == 0 {
			break
		}
		e = sub.elems[0]
	}
	return string(b), nil
}

// writeArrayText prints an array of n top-level elements (the first
// dimension's lower bound 1) with the inner bounds decoration of its
// parts.
func writeArrayText(inner []byte, elems [][]byte, delim byte) []byte {
	var b bytes.Buffer
	if len(inner) > 0 {
		fmt.Fprintf(&b, "[1:%d]", len(elems))
		b.Write(inner)
		b.WriteByte('=')
	}
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(delim)
		}
		b.Write(e)
	}
	b.WriteByte('}')
	return b.Bytes()
}
