package coordinator

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// lexKind is what normalize needs to know of a token.
type lexKind uint8

const (
	lexOther        lexKind = iota // operators, punctuation, other keywords
	lexWord                        // identifiers and keywords it does not look for
	lexInt                         // integer constant that fits int4
	lexFloat                       // other numeric constant
	lexString                      // '...' or dollar-quoted string
	lexRefuse                      // a parameter or a literal normalize leaves alone
	lexOpen                        // (
	lexClose                       // )
	lexCloseBracket                // ]
	lexComma
	lexSemicolon
	lexMinus
	lexSelect
	lexInsert
	lexUpdate
	lexDelete
	lexBy
	lexOrder
	lexGroup
	lexEndsSortList // LIMIT OFFSET FETCH FOR HAVING WINDOW UNION EXCEPT INTERSECT
	lexSortOption   // ASC DESC NULLS
)

// lexToken is one token of a statement: its kind, whether it is a
// reserved keyword, and its byte span.
type lexToken struct {
	kind       lexKind
	reserved   bool
	start, end int
}

// lexKeywords are the keywords normalize looks for.
var lexKeywords = map[string]lexKind{
	"select": lexSelect, "insert": lexInsert, "update": lexUpdate, "delete": lexDelete,
	"by": lexBy, "order": lexOrder, "group": lexGroup,
	"limit": lexEndsSortList, "offset": lexEndsSortList, "fetch": lexEndsSortList,
	"for": lexEndsSortList, "having": lexEndsSortList, "window": lexEndsSortList,
	"union": lexEndsSortList, "except": lexEndsSortList, "intersect": lexEndsSortList,
	"asc": lexSortOption, "desc": lexSortOption, "nulls": lexSortOption,
}

// reservedKeywords are PostgreSQL 16's reserved keywords (the parser
// pg_query embeds); TestReservedKeywords checks the list against it.
var reservedKeywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric both case cast
		check collate column constraint create current_catalog current_date current_role current_time
		current_timestamp current_user default deferrable desc distinct do else end except false fetch
		for foreign from grant group having in initially intersect into lateral leading limit localtime
		localtimestamp not null offset on only or order placing primary references returning select
		session_user some symmetric system_user table then to trailing true union unique user using
		variadic when where window with`) {
		reservedKeywords[w] = true
	}
}

// lexPgQuery tokenizes with PostgreSQL's own scanner (through cgo).
// Comments are left out, as lexNative leaves them out: a comment between
// two tokens does not change what they are to each other.
func lexPgQuery(query string) ([]lexToken, bool) {
	scan, err := pg_query.Scan(query)
	if err != nil {
		return nil, false
	}
	out := make([]lexToken, 0, len(scan.Tokens))
	for _, t := range scan.Tokens {
		if t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT {
			continue
		}
		out = append(out, lexToken{kind: pgQueryKind(t), reserved: t.KeywordKind == pg_query.KeywordKind_RESERVED_KEYWORD, start: int(t.Start), end: int(t.End)})
	}
	return out, true
}

func pgQueryKind(t *pg_query.ScanToken) lexKind {
	switch t.Token {
	case pg_query.Token_PARAM, pg_query.Token_BCONST, pg_query.Token_XCONST, pg_query.Token_USCONST:
		return lexRefuse
	case pg_query.Token_ICONST:
		return lexInt
	case pg_query.Token_FCONST:
		return lexFloat
	case pg_query.Token_SCONST:
		return lexString
	case pg_query.Token_IDENT:
		return lexWord
	case pg_query.Token_ASCII_40:
		return lexOpen
	case pg_query.Token_ASCII_41:
		return lexClose
	case pg_query.Token_ASCII_93:
		return lexCloseBracket
	case pg_query.Token_ASCII_44:
		return lexComma
	case pg_query.Token_ASCII_59:
		return lexSemicolon
	case pg_query.Token_ASCII_45:
		return lexMinus
	case pg_query.Token_SELECT:
		return lexSelect
	case pg_query.Token_INSERT:
		return lexInsert
	case pg_query.Token_UPDATE:
		return lexUpdate
	case pg_query.Token_DELETE_P:
		return lexDelete
	case pg_query.Token_BY:
		return lexBy
	case pg_query.Token_ORDER:
		return lexOrder
	case pg_query.Token_GROUP_P:
		return lexGroup
	case pg_query.Token_LIMIT, pg_query.Token_OFFSET, pg_query.Token_FETCH, pg_query.Token_FOR,
		pg_query.Token_HAVING, pg_query.Token_WINDOW, pg_query.Token_UNION, pg_query.Token_EXCEPT,
		pg_query.Token_INTERSECT:
		return lexEndsSortList
	case pg_query.Token_ASC, pg_query.Token_DESC, pg_query.Token_NULLS_P, pg_query.Token_NULLS_LA:
		return lexSortOption
	}
	if t.KeywordKind != pg_query.KeywordKind_NO_KEYWORD && t.KeywordKind != pg_query.KeywordKind_RESERVED_KEYWORD {
		return lexWord
	}
	return lexOther
}

// lexNative tokenizes the statements a simple-protocol client sends most
// (plain SELECT/INSERT/UPDATE/DELETE with numbers and standard strings)
// the way PostgreSQL's scanner does, without leaving Go. It declines
// (false) on anything rarer — comments are fine, but escape, bit, national
// and Unicode strings, dollar quoting, parameters, quoted identifiers that
// could be odd, numbers in other bases or with trailing junk — and the
// caller falls back to lexPgQuery. TestLexNativeAgrees holds the two to
// the same tokens.
func lexNative(q string) ([]lexToken, bool) {
	if strings.IndexByte(q, 0) >= 0 {
		return nil, false // PostgreSQL's scanner stops at a NUL
	}
	toks := make([]lexToken, 0, 16)
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case isSpace(c):
			i++
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			i = lineEnd(q, i)
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			end, ok := blockCommentEnd(q, i)
			if !ok {
				return nil, false
			}
			i = end
		case isIdentStart(c):
			start := i
			for i < len(q) && isIdentCont(q[i]) {
				i++
			}
			if i < len(q) && (q[i] == '\'' || q[i] == '"' || q[i] == '&') {
				return nil, false // E'..', B'..', X'..', N'..', U&'..', U&".."
			}
			toks = append(toks, wordToken(q[start:i], start, i))
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			t, ok := lexNumber(q, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, t)
			i = t.end
		case c == '\'':
			end, ok := stringEnd(q, i)
			if !ok {
				return nil, false
			}
			toks = append(toks, lexToken{kind: lexString, start: i, end: end})
			i = end
		case c == '"':
			end, ok := quotedEnd(q, i)
			if !ok || end == i+2 {
				return nil, false // unterminated, or zero-length: an error
			}
			toks = append(toks, lexToken{kind: lexWord, start: i, end: end})
			i = end
		case isOpChar(c):
			n := operatorLen(q[i:])
			if n >= 64 {
				return nil, false // "operator too long"
			}
			kind := lexOther
			if n == 1 && c == '-' {
				kind = lexMinus
			}
			toks = append(toks, lexToken{kind: kind, start: i, end: i + n})
			i += n
		case c == '$' || c == '\\':
			return nil, false // parameters, dollar quoting, psql leftovers
		case c == ':':
			n := 1
			if i+1 < len(q) && (q[i+1] == ':' || q[i+1] == '=') {
				n = 2
			}
			toks = append(toks, lexToken{kind: lexOther, start: i, end: i + n})
			i += n
		case c == '.':
			n := 1
			if i+1 < len(q) && q[i+1] == '.' {
				n = 2
			}
			toks = append(toks, lexToken{kind: lexOther, start: i, end: i + n})
			i += n
		default:
			kind := lexOther
			switch c {
			case '(':
				kind = lexOpen
			case ')':
				kind = lexClose
			case ']':
				kind = lexCloseBracket
			case ',':
				kind = lexComma
			case ';':
				kind = lexSemicolon
			case '[':
			default:
				if c < ' ' || c >= 0x7f {
					return nil, false
				}
			}
			toks = append(toks, lexToken{kind: kind, start: i, end: i + 1})
			i++
		}
	}
	return toks, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func isOpChar(c byte) bool {
	return strings.IndexByte("~!@#^&|`?+-*/%<>=", c) >= 0
}

// longestKeyword bounds the words wordToken looks up (PostgreSQL's
// longest keyword, current_timestamp, has 17 letters).
const longestKeyword = 24

// wordToken classifies an identifier by the keyword it spells, if any.
// Keywords are ASCII, matched without regard to case.
func wordToken(w string, start, end int) lexToken {
	t := lexToken{kind: lexWord, start: start, end: end}
	if len(w) > longestKeyword {
		return t
	}
	var buf [longestKeyword]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 0x80:
			return t
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lower := buf[:len(w)]
	t.reserved = reservedKeywords[string(lower)] // no allocation for a lookup
	if k, ok := lexKeywords[string(lower)]; ok {
		t.kind = k
	} else if t.reserved {
		t.kind = lexOther
	}
	return t
}

// blockCommentEnd returns the end of the (nestable) comment at i.
func blockCommentEnd(q string, i int) (int, bool) {
	depth := 0
	for i < len(q) {
		switch {
		case strings.HasPrefix(q[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(q[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return 0, false
}

// quotedEnd returns the end of the text quoted by the character at i (a
// string literal or a quoted identifier), where a doubled quote stands for
// itself, or false when it is not closed.
func quotedEnd(q string, i int) (int, bool) {
	quote := q[i]
	end := i + 1
	for {
		j := strings.IndexByte(q[end:], quote)
		if j < 0 {
			return 0, false
		}
		end += j + 1
		if end == len(q) || q[end] != quote {
			return end, true
		}
		end++
	}
}

// lineEnd returns where the -- comment at i ends: at the line break.
func lineEnd(q string, i int) int {
	for i < len(q) && q[i] != '\n' && q[i] != '\r' {
		i++
	}
	return i
}

// stringEnd returns the end of the standard string literal at i. It
// declines a literal that PostgreSQL would continue with another one on
// a following line ('a'<newline>'b' is one constant).
func stringEnd(q string, i int) (int, bool) {
	end, ok := quotedEnd(q, i)
	if !ok {
		return 0, false
	}
	newline := false
	for k := end; k < len(q); k++ {
		switch {
		case q[k] == '\n' || q[k] == '\r':
			newline = true
		case isSpace(q[k]):
		case q[k] == '-' && strings.HasPrefix(q[k:], "--"):
			k = lineEnd(q, k) - 1
		case q[k] == '\'' && newline:
			return 0, false
		default:
			return end, true
		}
	}
	return end, true
}

// lexNumber reads the decimal number at i: an integer (int4 or, past its
// range, a float constant as PostgreSQL types it), a decimal or a real.
// Other bases, underscores, junk after the number and the ".." forms are
// declined.
func lexNumber(q string, i int) (lexToken, bool) {
	start := i
	digits := func() int {
		n := 0
		for i < len(q) && q[i] >= '0' && q[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intDigits := digits()
	float := false
	if i < len(q) && q[i] == '.' {
		if i+1 < len(q) && q[i+1] == '.' {
			return lexToken{}, false
		}
		i++
		float = true
		if digits() == 0 && intDigits == 0 {
			return lexToken{}, false
		}
	}
	if i < len(q) && (q[i] == 'e' || q[i] == 'E') {
		i++
		if i < len(q) && (q[i] == '+' || q[i] == '-') {
			i++
		}
		if digits() == 0 {
			return lexToken{}, false
		}
		float = true
	}
	if i < len(q) && (isIdentCont(q[i]) || q[i] == '.') {
		return lexToken{}, false // 0x.., 1_000, 12abc, 1.2.3
	}
	t := lexToken{kind: lexFloat, start: start, end: i}
	if !float {
		if _, err := strconv.ParseInt(q[start:i], 10, 32); err == nil {
			t.kind = lexInt
		}
	}
	return t, true
}

// operatorLen is how long the operator at the start of s is, by
// PostgreSQL's rules: the longest run of operator characters, cut before
// a comment start, and without trailing + or - unless the run holds a
// character SQL operators do not use.
func operatorLen(s string) int {
	n := 0
	for n < len(s) && isOpChar(s[n]) {
		n++
	}
	run := s[:n]
	if k := strings.Index(run, "/*"); k >= 0 {
		n = k
	}
	if k := strings.Index(run[:n], "--"); k >= 0 {
		n = k
	}
	if n > 1 && (s[n-1] == '+' || s[n-1] == '-') && !strings.ContainsAny(s[:n-1], "~!@#^&|`?%") {
		for n > 1 && (s[n-1] == '+' || s[n-1] == '-') {
			n--
		}
	}
	return n
}
