package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planExplain shows the distributed plan of a statement as rows of text.
func planExplain(ctx context.Context, env *Env, st *Statement, ex *pg_query.ExplainStmt) (*Plan, error) {
	for _, o := range ex.Options {
		if o.GetDefElem().GetDefname() == "analyze" {
			return nil, pgerr.Unsupported("Use EXPLAIN without ANALYZE.", "EXPLAIN ANALYZE is not supported yet")
		}
	}
	inner := &Statement{SQL: st.SQL, Node: ex.Query, ParamOIDs: st.ParamOIDs}
	shape, err := classify(env, ex.Query)
	if err != nil {
		return nil, err
	}
	if shape.allLocal() {
		return planShell(ctx, env, st, true)
	}
	// The inner statement's text: the part of the EXPLAIN after its options.
	sql, err := deparse(ex.Query)
	if err != nil {
		return nil, err
	}
	if inner.Node, err = parseOne(sql); err != nil {
		return nil, err
	}
	inner.SQL = sql
	p, err := plan(ctx, env, inner)
	if err != nil {
		return nil, err
	}
	var lines []string
	if p.Root != nil {
		lines = describe(p.Root.Explain(), 0, lines)
	} else {
		lines = append(lines, "DDL: "+p.DDL.Tag)
	}
	return &Plan{Kind: KindQuery, ParamOIDs: p.ParamOIDs, Columns: []executor.Column{{Name: "QUERY PLAN", TypeOID: 25, TypeSize: -1, TypeModifier: -1}},
		Root: &executor.Values{Cols: []executor.Column{{Name: "QUERY PLAN", TypeOID: 25, TypeSize: -1, TypeModifier: -1}}, Rows: textRows(lines), Tag: "EXPLAIN"}}, nil
}

func describe(d executor.Description, depth int, lines []string) []string {
	pad := strings.Repeat("  ", depth)
	arrow := ""
	if depth > 0 {
		arrow = "->  "
	}
	lines = append(lines, pad+arrow+d.Operator)
	for _, s := range d.Detail {
		lines = append(lines, pad+"      "+s)
	}
	for _, in := range d.Inputs {
		lines = describe(in, depth+1, lines)
	}
	return lines
}

func textRows(lines []string) [][][]byte {
	out := make([][][]byte, len(lines))
	for i, l := range lines {
		out[i] = [][]byte{[]byte(l)}
	}
	return out
}
