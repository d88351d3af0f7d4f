package planner

import (
	"context"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A UNION ALL whose branches the planner can each run (routed, merged,
// aggregated, shipped) runs as those plans one after another, their rows
// appended, instead of pulling every table it reads. A branch whose column
// types are not the union's (integer beside numeric, varchar beside text)
// is cast to them, as PostgreSQL does, so that every row arrives in the
// union's types and formats.

// unionAllBranches returns the branches of a UNION ALL tree with nothing
// on top of it (no ORDER BY, LIMIT, locking or WITH), or nil.
func unionAllBranches(sel *pg_query.SelectStmt) []*pg_query.SelectStmt {
	if sel.Op != pg_query.SetOperation_SETOP_UNION || !sel.All || len(sel.SortClause) > 0 || sel.LimitCount != nil ||
		sel.LimitOffset != nil || len(sel.LockingClause) > 0 || sel.WithClause != nil {
		return nil
	}
	var out []*pg_query.SelectStmt
	var flatten func(s *pg_query.SelectStmt)
	flatten = func(s *pg_query.SelectStmt) {
		if s.Op == pg_query.SetOperation_SETOP_UNION && s.All && len(s.SortClause) == 0 && s.LimitCount == nil &&
			s.LimitOffset == nil && len(s.LockingClause) == 0 && s.WithClause == nil {
			flatten(s.Larg)
			flatten(s.Rarg)
			return
		}
		out = append(out, s)
	}
	flatten(sel)
	return out
}

func planUnionAll(ctx context.Context, env *Env, branches []*pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	var types []string
	op := &executor.Append{Cols: desc.Columns}
	for _, b := range branches {
		n := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: b}}
		sql, err := deparse(n)
		if err != nil {
			return nil, err
		}
		bdesc, err := env.Shell.Describe(ctx, sql, desc.ParamOIDs)
		if err != nil {
			return nil, err
		}
		if len(bdesc.Columns) != len(desc.Columns) {
			return nil, pgerr.Unsupported(hintJoins, "a UNION ALL branch with %d columns instead of %d", len(bdesc.Columns), len(desc.Columns))
		}
		var cast *pg_query.SelectStmt
		for i, c := range bdesc.Columns {
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
			n = &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: cast}}
			if sql, err = deparse(n); err != nil {
				return nil, err
			}
		}
		// Planning maps table references to positions in the text: the
		// branch's own.
		if n, err = parseOne(sql); err != nil {
			return nil, err
		}
		p, err := planSelect(ctx, env, &Statement{SQL: sql, Node: n, ParamOIDs: desc.ParamOIDs}, n.GetSelectStmt())
		if err != nil {
			return nil, err
		}
		op.Inputs = append(op.Inputs, p.Root)
	}
	return op, nil
}
