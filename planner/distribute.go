package planner

import (
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Distribute is a Postgres-XL DISTRIBUTE BY clause.
type Distribute struct {
	Method catalog.Method
	Column string
	// Pos is the clause's byte offset in the original text.
	Pos int
}

// CutDistribute removes every DISTRIBUTE BY clause from sql (it is not
// PostgreSQL grammar), replacing it with spaces so that positions in error
// messages stay right, and returns the clauses found.
func CutDistribute(sql string) (string, []Distribute, error) {
	if !containsFold(sql, "distribute") {
		return sql, nil, nil
	}
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return sql, nil, nil // the parser reports the error
	}
	toks := scan.Tokens
	text := func(i int) string { return sql[toks[i].Start:toks[i].End] }
	var out []Distribute
	buf := []byte(sql)
	for i := 0; i+2 < len(toks); i++ {
		if !strings.EqualFold(text(i), "distribute") || !strings.EqualFold(text(i+1), "by") {
			continue
		}
		d := Distribute{Pos: int(toks[i].Start)}
		j := i + 2
		switch strings.ToLower(text(j)) {
		case "hash", "modulo":
			d.Method = catalog.MethodHash
			if strings.EqualFold(text(j), "modulo") {
				d.Method = catalog.MethodModulo
			}
			if j+3 >= len(toks) || text(j+1) != "(" || text(j+3) != ")" {
				return sql, nil, &pgerr.Error{Code: pgerr.SyntaxError, Message: "syntax error in DISTRIBUTE BY: expected " + strings.ToUpper(text(j)) + " (column)", Position: int32(toks[j].Start) + 1}
			}
			d.Column = identValue(text(j + 2))
			j += 3
		case "roundrobin":
			d.Method = catalog.MethodRoundRobin
		case "replication":
			d.Method = catalog.MethodReplication
		default:
			if !inCreate(toks, i) {
				continue // not a DISTRIBUTE BY clause (e.g. a column named distribute)
			}
			return sql, nil, &pgerr.Error{Code: pgerr.SyntaxError, Message: "syntax error in DISTRIBUTE BY: expected HASH(column), MODULO(column), ROUNDROBIN or REPLICATION", Position: int32(toks[j].Start) + 1}
		}
		for k := int(toks[i].Start); k < int(toks[j].End); k++ {
			if buf[k] != '\n' {
				buf[k] = ' '
			}
		}
		out = append(out, d)
		i = j
	}
	return string(buf), out, nil
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// identValue returns an identifier's value: unquoted names fold to lower
// case, quoted names keep their case.
func identValue(tok string) string {
	if len(tok) >= 2 && tok[0] == '"' && tok[len(tok)-1] == '"' {
		return strings.ReplaceAll(tok[1:len(tok)-1], `""`, `"`)
	}
	return strings.ToLower(tok)
}

// inCreate says whether token i belongs to a statement starting with CREATE.
func inCreate(toks []*pg_query.ScanToken, i int) bool {
	start := 0
	for k := i - 1; k >= 0; k-- {
		if toks[k].Token == pg_query.Token_ASCII_59 {
			start = k + 1
			break
		}
	}
	return start < len(toks) && toks[start].Token == pg_query.Token_CREATE
}
