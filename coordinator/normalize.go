package coordinator

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
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
	scan, err := pg_query.Scan(query)
	if err != nil || len(scan.Tokens) == 0 {
		return normalized{}, false
	}
	toks := scan.Tokens
	switch toks[0].Token {
	case pg_query.Token_SELECT, pg_query.Token_INSERT, pg_query.Token_UPDATE, pg_query.Token_DELETE_P:
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
		switch t.Token {
		case pg_query.Token_PARAM, pg_query.Token_BCONST, pg_query.Token_XCONST, pg_query.Token_USCONST:
			return normalized{}, false
		case pg_query.Token_ASCII_59: // ';'
			if i != len(toks)-1 {
				return normalized{}, false
			}
		case pg_query.Token_ASCII_40:
			depth++
		case pg_query.Token_ASCII_41:
			depth--
			if sortDepth > depth {
				sortDepth = -1
			}
		case pg_query.Token_BY:
			if i > 0 && (toks[i-1].Token == pg_query.Token_ORDER || toks[i-1].Token == pg_query.Token_GROUP_P) {
				sortDepth = depth
			}
		case pg_query.Token_LIMIT, pg_query.Token_OFFSET, pg_query.Token_FETCH, pg_query.Token_FOR,
			pg_query.Token_HAVING, pg_query.Token_WINDOW, pg_query.Token_UNION, pg_query.Token_EXCEPT,
			pg_query.Token_INTERSECT:
			if depth == sortDepth {
				sortDepth = -1
			}
		case pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST:
			if t.Token == pg_query.Token_ICONST && sortDepth == depth && positional(toks, i) {
				continue
			}
			start := int(t.Start)
			raw := query[t.Start:t.End]
			var val string
			var oid uint32
			switch t.Token {
			case pg_query.Token_ICONST, pg_query.Token_FCONST:
				if strings.ContainsAny(raw, "xXoObB_") {
					return normalized{}, false // hex/octal/underscore forms
				}
				// PostgreSQL folds a unary minus into the constant, and
				// types an integer by its signed value.
				if i > 0 && toks[i-1].Token == pg_query.Token_ASCII_45 && unaryMinus(toks, i-1) {
					start = int(toks[i-1].Start)
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
			pos = int(t.End)
			n.values = append(n.values, []byte(val))
			n.oids = append(n.oids, oid)
			kinds = append(kinds, byte('0'+t.Token%10))
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
// minus: it does not follow an operand. Misjudging a binary minus as a sign
// yields text that fails to parse, which falls back to the ordinary path.
func unaryMinus(toks []*pg_query.ScanToken, i int) bool {
	if i == 0 {
		return true
	}
	prev := toks[i-1]
	switch prev.Token {
	case pg_query.Token_IDENT, pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SCONST,
		pg_query.Token_PARAM, pg_query.Token_ASCII_41, pg_query.Token_ASCII_93:
		return false
	}
	if prev.KeywordKind == pg_query.KeywordKind_NO_KEYWORD {
		return true // an operator or punctuation
	}
	return prev.KeywordKind == pg_query.KeywordKind_RESERVED_KEYWORD
}

// positional reports an integer in an ORDER BY / GROUP BY list standing
// alone as an item, which names an output column by position.
func positional(toks []*pg_query.ScanToken, i int) bool {
	if i == 0 {
		return false
	}
	switch toks[i-1].Token {
	case pg_query.Token_BY, pg_query.Token_ASCII_44:
	default:
		return false
	}
	if i+1 == len(toks) {
		return true
	}
	switch toks[i+1].Token {
	case pg_query.Token_ASCII_44, pg_query.Token_ASCII_41, pg_query.Token_ASCII_59, pg_query.Token_ASC,
		pg_query.Token_DESC, pg_query.Token_NULLS_P, pg_query.Token_NULLS_LA, pg_query.Token_LIMIT,
		pg_query.Token_OFFSET, pg_query.Token_FETCH, pg_query.Token_FOR, pg_query.Token_HAVING,
		pg_query.Token_WINDOW, pg_query.Token_UNION, pg_query.Token_EXCEPT, pg_query.Token_INTERSECT:
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
