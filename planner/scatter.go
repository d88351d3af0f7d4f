package planner

import (
	"context"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planMergeScatter runs the query on every node holding shards (each node
// over the union of its shards) and merges: merge sort for ORDER BY, the
// coordinator applies LIMIT/OFFSET after pushing LIMIT+OFFSET down.
func planMergeScatter(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description, distinctOn int) (executor.Operator, error) {
	if sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES {
		return nil, pgerr.Unsupported("Use LIMIT without WITH TIES.", "FETCH ... WITH TIES over many shards is not supported yet")
	}
	w := clone(sel)
	visible := len(desc.Columns)
	addHidden := func(expr *pg_query.Node) int {
		w.TargetList = append(w.TargetList, pg_query.MakeResTargetNodeWithVal(clone(expr), -1))
		return len(w.TargetList) - 1 + visible - len(sel.TargetList)
	}
	keys, exprs, err := sortKeys(sel, desc, addHidden)
	if err != nil {
		return nil, err
	}
	hidden := len(w.TargetList) - len(sel.TargetList)
	limit, offset, err := limitCounts(sel)
	if err != nil {
		return nil, err
	}
	if sel.LimitOffset != nil {
		if sel.LimitCount != nil && limit.Set {
			w.LimitCount = pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, []*pg_query.Node{pg_query.MakeStrNode("+")}, clone(sel.LimitCount), clone(sel.LimitOffset), -1)
		}
		w.LimitOffset = nil
	}
	cols := desc.Columns
	if hidden > 0 {
		sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: w}})
		if err != nil {
			return nil, err
		}
		d, err := env.Shell.Describe(ctx, sql, desc.ParamOIDs)
		if err != nil {
			return nil, err
		}
		cols = d.Columns
	}
	for i := range keys {
		keys[i].TypeOID = cols[keys[i].Col].TypeOID
		if executor.IsDateTime(keys[i].TypeOID) {
			// Dates and times are ordered by their epoch, whatever the
			// session's DateStyle and time zone print.
			keys[i].Col = addHidden(epochOf(exprs[i]))
			keys[i].TypeOID = oidNumeric
			cols = append(cols, executor.Column{Name: "epoch", TypeOID: oidNumeric, TypeSize: -1, TypeModifier: -1})
			hidden++
			continue
		}
		if !executor.Comparable(keys[i].TypeOID) {
			return nil, pgerr.Unsupported("Fix the distribution column to one value, or order by a column of a basic type.", "ORDER BY a value of type %d over many shards is not supported yet", keys[i].TypeOID)
		}
	}
	sql := st.SQL
	if hidden > 0 || sel.LimitOffset != nil {
		if sql, err = deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: w}}); err != nil {
			return nil, err
		}
	}
	targets, err := nodeTargets(env, sql, keys)
	if err != nil {
		return nil, err
	}
	// Rows pass through in the client's formats; only hidden sort keys come
	// as text.
	g := &executor.Gather{Targets: targets, Cols: cols}
	if hidden > 0 {
		g.HiddenFrom = visible
	}
	var root executor.Operator = g
	if len(keys) > 0 {
		root = &executor.MergeSort{Input: g, Keys: keys, DistinctOn: distinctOn}
	}
	if limit.Set || offset.Set {
		root = &executor.Limit{Input: root, Limit: limit, Offset: offset}
	}
	if hidden > 0 {
		root = &executor.Project{Input: root, Cols: desc.Columns}
	}
	return root, nil
}

// sortKeys resolves ORDER BY items to output columns; items that are not
// output columns are added with addHidden, which returns their column. It
// also returns each key's expression.
func sortKeys(sel *pg_query.SelectStmt, desc *Description, addHidden func(*pg_query.Node) int) ([]executor.SortKey, []*pg_query.Node, error) {
	var keys []executor.SortKey
	var exprs []*pg_query.Node
	for _, n := range sel.SortClause {
		sb := n.GetSortBy()
		expr := sb.Node
		if cc := expr.GetCollateClause(); cc != nil {
			if !isCCollation(cc) {
				return nil, nil, pgerr.Unsupported("Order by the C collation, or fix the distribution column to one value.", "ORDER BY with a non-C collation over many shards is not supported yet")
			}
			expr = cc.Arg
		}
		col := outputColumn(sel, desc, expr)
		if col < 0 {
			if addHidden == nil {
				return nil, nil, pgerr.Unsupported("Order by columns of the select list.", "ORDER BY expressions that are not in the select list are not supported for aggregates over many shards")
			}
			col = addHidden(expr)
		} else if col < len(sel.TargetList) {
			expr = sel.TargetList[col].GetResTarget().GetVal()
		}
		k := executor.SortKey{Col: col}
		switch sb.SortbyDir {
		case pg_query.SortByDir_SORTBY_DESC:
			k.Desc = true
		case pg_query.SortByDir_SORTBY_USING:
			return nil, nil, pgerr.Unsupported("Use ASC or DESC.", "ORDER BY ... USING over many shards is not supported")
		}
		switch sb.SortbyNulls {
		case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
			k.NullsFirst = true
		case pg_query.SortByNulls_SORTBY_NULLS_LAST:
			k.NullsFirst = false
		default:
			k.NullsFirst = k.Desc
		}
		keys = append(keys, k)
		exprs = append(exprs, expr)
	}
	return keys, exprs, nil
}

// epochOf is extract(epoch from (expr)): a numeric that orders dates and
// timestamps as PostgreSQL does (BC dates, years past 9999, daylight
// saving changes), independent of how they print.
func epochOf(expr *pg_query.Node) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{
		Funcname: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode("extract")},
		Args:     []*pg_query.Node{pg_query.MakeAConstStrNode("epoch", -1), clone(expr)},
		Location: -1,
	}}}
}

func isCCollation(cc *pg_query.CollateClause) bool {
	if len(cc.Collname) == 0 {
		return false
	}
	name := cc.Collname[len(cc.Collname)-1].GetString_().GetSval()
	return name == "C" || name == "POSIX" || name == "default"
}

// outputColumn finds the output column an ORDER BY item names: a position,
// an output column name, or an expression equal to a select-list entry.
func outputColumn(sel *pg_query.SelectStmt, desc *Description, expr *pg_query.Node) int {
	if pos, ok := intConst(expr); ok {
		if pos >= 1 && int(pos) <= len(desc.Columns) {
			return int(pos) - 1
		}
		return -1
	}
	if cr := expr.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
		name := columnName(expr)
		for i, c := range desc.Columns {
			if c.Name == name && i < len(sel.TargetList) && !hasStar(sel) {
				return i
			}
		}
	}
	if hasStar(sel) {
		return -1
	}
	for i, t := range sel.TargetList {
		if exprEqual(t.GetResTarget().GetVal(), expr) {
			return i
		}
	}
	return -1
}

func hasStar(sel *pg_query.SelectStmt) bool {
	for _, t := range sel.TargetList {
		if cr := t.GetResTarget().GetVal().GetColumnRef(); cr != nil && len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			return true
		}
	}
	return false
}

// limitCounts reads LIMIT and OFFSET: constants or parameters.
func limitCounts(sel *pg_query.SelectStmt) (limit, offset executor.Count, err error) {
	if limit, err = count(sel.LimitCount, "LIMIT"); err != nil {
		return
	}
	offset, err = count(sel.LimitOffset, "OFFSET")
	return
}

func count(n *pg_query.Node, what string) (executor.Count, error) {
	if n == nil {
		return executor.Count{}, nil
	}
	if c := n.GetAConst(); c != nil && c.Isnull {
		return executor.Count{}, nil // LIMIT ALL / NULL
	}
	if v, ok := intConst(n); ok {
		return executor.Count{Set: true, Const: v}, nil
	}
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	if p := n.GetParamRef(); p != nil {
		return executor.Count{Set: true, Param: int(p.Number)}, nil
	}
	return executor.Count{}, pgerr.Unsupported("Use a constant or a parameter.", "%s with an expression over many shards is not supported yet", what)
}
