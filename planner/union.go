package planner

import (
	"context"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A UNION ALL whose branches the planner can each run (routed, merged,
// aggregated, shipped) runs as those plans one after another, their rows
// appended, instead of pulling every table it reads; a UNION also merges
// equal rows on the coordinator, as a GROUP BY of every column. A branch whose column
// types are not the union's (integer beside numeric, varchar beside text)
// is cast to them, as PostgreSQL does, so that every row arrives in the
// union's types and formats.

// unionBranches returns the branches of a tree of UNION ALL, or of UNION,
// with nothing on top of it (no ORDER BY, LIMIT, locking or WITH), and
// whether it is UNION (rows made distinct); nil if sel is not one.
func unionBranches(sel *pg_query.SelectStmt) ([]*pg_query.SelectStmt, bool) {
	if sel.Op != pg_query.SetOperation_SETOP_UNION || !bare(sel) {
		return nil, false
	}
	all := sel.All
	var out []*pg_query.SelectStmt
	var flatten func(s *pg_query.SelectStmt)
	flatten = func(s *pg_query.SelectStmt) {
		if s.Op == pg_query.SetOperation_SETOP_UNION && s.All == all && bare(s) {
			flatten(s.Larg)
			flatten(s.Rarg)
			return
		}
		out = append(out, s)
	}
	flatten(sel)
	return out, !all
}

// bare says whether nothing sits on top of a set operation.
func bare(s *pg_query.SelectStmt) bool {
	return len(s.SortClause) == 0 && s.LimitCount == nil && s.LimitOffset == nil && len(s.LockingClause) == 0 && s.WithClause == nil
}

func planUnion(ctx context.Context, env *Env, branches []*pg_query.SelectStmt, distinct bool, desc *Description) (executor.Operator, error) {
	if distinct {
		for _, c := range desc.Columns {
			if !executor.EqualAsText(c.TypeOID) {
				return nil, pgerr.Unsupported(hintJoins, "UNION of values of type %d over many shards is not supported yet", c.TypeOID)
			}
		}
	}
	var types []string
	op := &executor.Append{Cols: desc.Columns, Text: distinct}
	for _, b := range branches {
		p, err := planPart(ctx, env, b, desc.ParamOIDs)
		if err != nil {
			return nil, err
		}
		if len(p.Columns) != len(desc.Columns) {
			return nil, pgerr.Unsupported(hintJoins, "a UNION ALL branch with %d columns instead of %d", len(p.Columns), len(desc.Columns))
		}
		var cast *pg_query.SelectStmt
		for i, c := range p.Columns {
			if c.TypeOID == desc.Columns[i].TypeOID {
				continue
			}
			if cast == nil {
				if hasStar(b) || len(b.TargetList) != len(desc.Columns) || b.Op != pg_query.SetOperation_SETOP_NONE {
					return nil, pgerr.Unsupported(hintJoins, "a UNION ALL branch whose columns need casts to the union's types")
				}
				cast = clone(b)
			}
			if types == nil {
				if types, err = sqlTypeNames(ctx, env.Shell, desc.Columns); err != nil {
					return nil, err
				}
			}
			rt := cast.TargetList[i].GetResTarget()
			if rt.Val, err = typeCast(rt.Val, types[i]); err != nil {
				return nil, err
			}
		}
		if cast != nil {
			if p, err = planPart(ctx, env, cast, desc.ParamOIDs); err != nil {
				return nil, err
			}
		}
		op.Inputs = append(op.Inputs, p.Root)
	}
	if !distinct {
		return op, nil
	}
	// UNION: the appended rows grouped by every column.
	agg := &executor.Aggregate{Input: op, Cols: desc.Columns}
	for i, c := range desc.Columns {
		agg.GroupCols = append(agg.GroupCols, i)
		agg.GroupTypes = append(agg.GroupTypes, c.TypeOID)
		agg.Output = append(agg.Output, executor.OutputCol{Group: i})
	}
	return &executor.Convert{Input: agg, Ready: make([]bool, len(desc.Columns))}, nil
}

// planPart plans part of a statement (a union's branch, a subquery) as a
// statement of its own, with the statement's parameter types.
func planPart(ctx context.Context, env *Env, b *pg_query.SelectStmt, paramOIDs []uint32) (*Plan, error) {
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: b}})
	if err != nil {
		return nil, err
	}
	// Planning maps table references to positions in the text: the
	// part's own.
	n, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	return planSelect(ctx, env, &Statement{SQL: sql, Node: n, ParamOIDs: paramOIDs}, n.GetSelectStmt())
}
