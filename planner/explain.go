package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planExplain shows the distributed plan of a statement as rows of text.
//
// EXPLAIN ANALYZE runs the statement, writes included (in an implicit
// transaction when they span nodes, as the statement itself would); the
// data node then shows its plan of one fragment without running it again,
// which for a write would write twice.
func planExplain(ctx context.Context, env *Env, st *Statement, ex *pg_query.ExplainStmt) (*Plan, error) {
	analyze := explainAnalyzes(ex)
	writes := analyze && writeTarget(ex.Query) != nil
	var opts []string
	for _, o := range ex.Options {
		d := o.GetDefElem()
		switch d.GetDefname() {
		case "format":
			continue // the node's plan is shown as text, with the distributed one
		case "analyze", "timing":
			if writes {
				continue
			}
		}
		o := d.GetDefname()
		if d.Arg != nil {
			o += " " + defElemString(d)
		}
		opts = append(opts, o)
	}
	inner := &Statement{SQL: st.SQL, Node: ex.Query, ParamOIDs: st.ParamOIDs}
	if shape, err := classify(env, ex.Query); err == nil && shape.allLocal() {
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
	if p.Root == nil {
		if analyze {
			return nil, pgerr.Unsupported("Use EXPLAIN without ANALYZE.", "EXPLAIN ANALYZE of DDL is not supported")
		}
		return &Plan{Kind: KindQuery, Columns: explainColumns, Root: &executor.Values{Cols: explainColumns, Rows: textRows([]string{"DDL: " + p.DDL.Tag}), Tag: "EXPLAIN"}}, nil
	}
	d := executor.Describe(p.Root)
	op := &executor.Explain{Header: "Distributed plan: " + tier(d), Lines: executor.PlanLines(d, nil), Fragment: firstFragment(d), Analyze: analyze, Plan: p.Root}
	if len(opts) > 0 {
		op.Options = "(" + strings.Join(opts, ", ") + ")"
	}
	out := &Plan{Kind: KindQuery, ParamOIDs: p.ParamOIDs, Columns: explainColumns, Root: op}
	if analyze {
		out.MultiNodeWrite = p.MultiNodeWrite
	}
	return out, nil
}

var explainColumns = []executor.Column{{Name: "QUERY PLAN", TypeOID: 25, TypeSize: -1, TypeModifier: -1}}

// tier names the planning tier of a plan.
func tier(d executor.Description) string {
	recursive := false
	var walk func(d executor.Description)
	walk = func(d executor.Description) {
		switch d.Operator {
		case "Pull", "Inline", "Insert Select":
			recursive = true
		}
		for _, in := range d.Inputs {
			walk(in)
		}
	}
	walk(d)
	switch {
	case recursive:
		return "recursive planning (intermediate results through the coordinator)"
	case d.Operator == "Route":
		return "router (one shard)"
	}
	return "pushdown with merge"
}

// firstFragment finds a statement the plan sends to a data node.
func firstFragment(d executor.Description) *executor.Target {
	if d.Fragment != nil {
		return d.Fragment
	}
	for _, in := range d.Inputs {
		if f := firstFragment(in); f != nil {
			return f
		}
	}
	return nil
}

func textRows(lines []string) [][][]byte {
	out := make([][][]byte, len(lines))
	for i, l := range lines {
		out[i] = [][]byte{[]byte(l)}
	}
	return out
}

// explainAnalyzes reports whether an EXPLAIN runs its statement.
func explainAnalyzes(ex *pg_query.ExplainStmt) bool {
	for _, o := range ex.Options {
		d := o.GetDefElem()
		if d.GetDefname() == "analyze" {
			v := defElemString(d)
			return d.Arg == nil || v != "false" && v != "off" && v != "0"
		}
	}
	return false
}
