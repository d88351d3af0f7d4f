package coordinator

import (
	"strconv"
	"strings"
)

// normalized is a simple-protocol statement whose constants were turned
// into parameters, so that statements differing only in their constants
// share one plan (the hot path of simple-protocol point lookups).
type normalized struct {
	text   string
	key    string
	values [][]byte
	oids   []uint32
}

// Parameter types given to normalized constants: what PostgreSQL gives the
// literal itself (integers int4, larger integers int8, other numbers
// numeric, strings unknown, resolved from context as a literal is).
const (
	oidInt4    = 23
	oidInt8    = 20
	oidNumeric = 1700
	oidUnknown = 0
)

// normalize turns the constants of a single SELECT, INSERT, UPDATE or
// DELETE into $n parameters. It declines (false) for anything it cannot
// treat exactly like the literal: other statements, several statements,
// existing parameters, escape or bit-string literals.
func normalize(query string) (normalized, bool) {
	toks, ok := lexNative(query)
	if !ok {
		if toks, ok = lexPgQuery(query); !ok {
			return normalized{}, false
		}
	}
	if len(toks) == 0 {
		return normalized{}, false
	}
	switch toks[0].kind {
	case lexSelect, lexInsert, lexUpdate, lexDelete:
	default:
		return normalized{}, false
	}
	var n normalized
	var b strings.Builder
	var kinds []byte
	pos := 0
	depth := 0
	sortDepth := -1 // paren depth of an ORDER BY / GROUP BY list, or -1
	for i, t := range toks {
		switch t.kind {
		case lexRefuse:
			return normalized{}, false
		case lexSemicolon:
			if i != len(toks)-1 {
				return normalized{}, false
			}
		case lexOpen:
			depth++
		case lexClose:
			depth--
			if sortDepth > depth {
				sortDepth = -1
			}
		case lexBy:
			if i > 0 && (toks[i-1].kind == lexOrder || toks[i-1].kind == lexGroup) {
				sortDepth = depth
			}
		case lexEndsSortList:
			if depth == sortDepth {
				sortDepth = -1
			}
		case lexInt, lexFloat, lexString:
			if t.kind == lexInt && sortDepth == depth && positional(toks, i) {
				continue
			}
			start := t.start
			raw := query[t.start:t.end]
			var val string
			var oid uint32
			switch t.kind {
			case lexInt, lexFloat:
				if strings.ContainsAny(raw, "xXoObB_") {
					return normalized{}, false // hex/octal/underscore forms
				}
				// PostgreSQL folds a unary minus into the constant, and
				// types an integer by its signed value.
				if i > 0 && toks[i-1].kind == lexMinus && unaryMinus(toks, i-1) {
					start = toks[i-1].start
					raw = "-" + raw
				}
				val, oid = raw, numberType(raw)
			default:
				var ok bool
				if val, ok = unquote(raw); !ok {
					return normalized{}, false
				}
				oid = oidUnknown
			}
			b.WriteString(query[pos:start])
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(len(n.values) + 1))
			pos = t.end
			n.values = append(n.values, []byte(val))
			n.oids = append(n.oids, oid)
			kinds = append(kinds, byte('0'+t.kind))
		}
	}
	if len(n.values) == 0 {
		return normalized{}, false
	}
	b.WriteString(query[pos:])
	n.text = b.String()
	n.key = "\x01" + string(kinds) + "\x00" + n.text
	return n, true
}

// numberType is the type PostgreSQL gives a numeric literal: int4 if it
// fits, else int8 if it fits, else numeric.
func numberType(v string) uint32 {
	if _, err := strconv.ParseInt(v, 10, 32); err == nil {
		return oidInt4
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return oidInt8
	}
	return oidNumeric
}

// unaryMinus says whether the '-' at i is a sign rather than a binary
// minus: it does not follow an operand (a name, a constant, a closing
// parenthesis or bracket, a keyword other than a reserved one). Misjudging
// a binary minus as a sign yields text that fails to parse, which falls
// back to the ordinary path.
func unaryMinus(toks []lexToken, i int) bool {
	if i == 0 {
		return true
	}
	switch prev := toks[i-1]; prev.kind {
	case lexWord, lexInt, lexFloat, lexString, lexRefuse, lexClose, lexCloseBracket:
		return false
	case lexOther, lexOpen, lexComma, lexSemicolon, lexMinus:
		return true // an operator, punctuation or a reserved keyword
	default:
		return prev.reserved
	}
}

// positional reports an integer in an ORDER BY / GROUP BY list standing
// alone as an item, which names an output column by position.
func positional(toks []lexToken, i int) bool {
	if i == 0 {
		return false
	}
	switch toks[i-1].kind {
	case lexBy, lexComma:
	default:
		return false
	}
	if i+1 == len(toks) {
		return true
	}
	switch toks[i+1].kind {
	case lexComma, lexClose, lexSemicolon, lexSortOption, lexEndsSortList:
		return true
	}
	return false
}

// unquote returns the value of a standard ('...') or dollar-quoted string
// literal.
func unquote(raw string) (string, bool) {
	switch {
	case len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'':
		inner := raw[1 : len(raw)-1]
		if strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
			return "", false // continued literal ('a' 'b' on two lines)
		}
		return strings.ReplaceAll(inner, "''", "'"), true
	case len(raw) >= 2 && raw[0] == '$':
		end := strings.IndexByte(raw[1:], '$')
		if end < 0 {
			return "", false
		}
		tag := raw[:end+2]
		if len(raw) < 2*len(tag) || !strings.HasSuffix(raw, tag) {
			return "", false
		}
		return raw[len(tag) : len(raw)-len(tag)], true
	}
	return "", false
}
