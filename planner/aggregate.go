package planner

import (
	"context"
	"slices"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

const hintGroupByDist = "Group by the distribution column, or fix it to one value, to run the whole aggregation on the data nodes."

// Type OIDs the aggregate split cares about.
const (
	oidInt8    = 20
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
)

// planTwoPhaseAggregate splits an aggregation into partial aggregates on
// each node (grouped by the GROUP BY expressions) and a combine step on the
// coordinator.
func planTwoPhaseAggregate(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	switch {
	case len(sel.DistinctClause) > 0:
		return nil, pgerr.Unsupported(hintGroupByDist, "SELECT DISTINCT with aggregates over many shards is not supported yet")
	case sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES:
		return nil, pgerr.Unsupported("Use LIMIT without WITH TIES.", "FETCH ... WITH TIES over many shards is not supported yet")
	}
	groups, err := groupExprs(sel)
	if err != nil {
		return nil, err
	}
	having, err := planHaving(ctx, env, sel, desc)
	if err != nil {
		return nil, err
	}
	w := &pg_query.SelectStmt{
		FromClause:  sel.FromClause,
		WhereClause: sel.WhereClause,
		WithClause:  sel.WithClause,
	}
	for _, g := range groups {
		w.TargetList = append(w.TargetList, pg_query.MakeResTargetNodeWithVal(clone(g), -1))
		w.GroupClause = append(w.GroupClause, clone(g))
	}
	var aggs []executor.Agg
	var outputs []executor.OutputCol
	ty := &typer{ctx: ctx, env: env, sel: sel, params: desc.ParamOIDs}
	// The select list, with what HAVING reads besides, hidden after it.
	for i, t := range having.sel.TargetList {
		v := t.GetResTarget().GetVal()
		typ := having.desc.Columns[i].TypeOID
		if fc, ok := aggregateCall(v); ok {
			ag, partials, groupBy, err := splitCall(ty, fc, typ)
			if err != nil {
				return nil, err
			}
			if groupBy != nil {
				addGroupBy(w, groupBy)
			}
			ag.Col = len(w.TargetList)
			for _, p := range partials {
				w.TargetList = append(w.TargetList, pg_query.MakeResTargetNodeWithVal(p, -1))
			}
			outputs = append(outputs, executor.OutputCol{Group: -1, Agg: len(aggs)})
			aggs = append(aggs, ag)
			continue
		}
		g := matchGroup(groups, v)
		if g < 0 {
			return nil, pgerr.Unsupported(hintGroupByDist, "select-list entries over many shards must be aggregates or GROUP BY expressions")
		}
		outputs = append(outputs, executor.OutputCol{Group: g})
	}
	keys, _, err := sortKeys(sel, desc, nil)
	if err != nil {
		return nil, err
	}
	visible := len(sel.TargetList)
	for i := range keys {
		keys[i].TypeOID = desc.Columns[keys[i].Col].TypeOID
		if out := outputs[keys[i].Col]; executor.IsDateTime(keys[i].TypeOID) && out.Group >= 0 {
			// Order by the group's epoch: one more (equivalent) group key,
			// output after the visible columns and projected away.
			g := len(groups)
			groups = append(groups, epochOf(groups[out.Group]))
			w.TargetList = append(w.TargetList[:g], append([]*pg_query.Node{pg_query.MakeResTargetNodeWithVal(clone(groups[g]), -1)}, w.TargetList[g:]...)...)
			w.GroupClause = append(w.GroupClause, clone(groups[g]))
			for j := range aggs {
				aggs[j].Col++
			}
			keys[i].Col, keys[i].TypeOID = len(outputs), oidNumeric
			outputs = append(outputs, executor.OutputCol{Group: g})
			continue
		}
		if !executor.Comparable(keys[i].TypeOID) {
			return nil, pgerr.Unsupported(hintGroupByDist, "ORDER BY a value of type %d over many shards is not supported yet", keys[i].TypeOID)
		}
	}
	limit, offset, err := limitCounts(sel)
	if err != nil {
		return nil, err
	}
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: w}})
	if err != nil {
		return nil, err
	}
	groupCols := make([]int, len(groups))
	groupTypes := make([]uint32, len(groups))
	for i := range groups {
		groupCols[i] = i
	}
	typed := make([]bool, len(groups))
	for i, o := range outputs {
		if o.Group >= 0 && i < len(having.desc.Columns) {
			typed[o.Group] = true
			groupTypes[o.Group] = having.desc.Columns[i].TypeOID
		}
	}
	// The values of a group key are compared as text (numeric 1 and 1.0
	// are one group): keys outside the select list, and count(DISTINCT)'s
	// values, get their types from the fragment's description.
	if slices.Contains(typed, false) || hasCountDistinct(aggs) {
		frag, err := env.Shell.Describe(ctx, sql, desc.ParamOIDs)
		if err != nil {
			return nil, err
		}
		for g := range groups {
			if !typed[g] {
				groupTypes[g] = frag.Columns[g].TypeOID
			}
		}
		if err := typeDistinct(frag, aggs); err != nil {
			return nil, err
		}
	}
	for _, typ := range groupTypes {
		if !executor.EqualAsText(typ) {
			return nil, pgerr.Unsupported(hintGroupByDist, "GROUP BY a value of type %d over many shards is not supported yet", typ)
		}
	}
	targets, err := nodeTargets(env, sql, nil)
	if err != nil {
		return nil, err
	}
	cols := having.desc.Columns
	for range outputs[len(cols):] {
		cols = append(cols[:len(cols):len(cols)], executor.Column{Name: "epoch", TypeOID: oidNumeric, TypeSize: -1, TypeModifier: -1})
	}
	// Keyed min/max values are chosen by their key and passed on as they
	// come: fetch them in the client's format.
	clientFormat := map[int]int{}
	ready := make([]bool, visible)
	for i, o := range outputs[:visible] {
		if o.Group < 0 && aggs[o.Agg].Keyed {
			clientFormat[aggs[o.Agg].Col] = i
			ready[i] = true
		}
	}
	var root executor.Operator = &executor.Aggregate{
		Input:      &executor.Gather{Targets: targets, Cols: make([]executor.Column, len(w.TargetList)), Text: true, ClientFormat: clientFormat},
		GroupCols:  groupCols,
		GroupTypes: groupTypes,
		Aggs:       aggs,
		Output:     outputs,
		Cols:       cols,
		Sort:       keys,
		Having:     having.cond,
	}
	if limit.Set || offset.Set {
		root = &executor.Limit{Input: root, Limit: limit, Offset: offset}
	}
	if len(outputs) > visible {
		root = &executor.Project{Input: root, Cols: desc.Columns}
	}
	return &executor.Convert{Input: root, Ready: ready}, nil
}

// groupExprs returns the GROUP BY expressions, with positions replaced by
// the select-list entries they name.
func groupExprs(sel *pg_query.SelectStmt) ([]*pg_query.Node, error) {
	var out []*pg_query.Node
	for _, g := range sel.GroupClause {
		switch {
		case g.GetGroupingSet() != nil:
			return nil, pgerr.Unsupported(hintGroupByDist, "GROUPING SETS, ROLLUP and CUBE over many shards are not supported yet")
		}
		if pos, ok := intConst(g); ok {
			if pos < 1 || int(pos) > len(sel.TargetList) || hasStar(sel) {
				return nil, pgerr.Unsupported(hintGroupByDist, "GROUP BY position %d over many shards is not supported", pos)
			}
			g = sel.TargetList[pos-1].GetResTarget().GetVal()
		} else if name := columnName(g); name != "" && len(g.GetColumnRef().Fields) == 1 {
			for _, t := range sel.TargetList {
				rt := t.GetResTarget()
				if rt.Name == name && columnName(rt.Val) != name {
					return nil, pgerr.Unsupported("Group by the expression instead of its alias.", "GROUP BY an output column alias over many shards is not supported yet")
				}
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// matchGroup finds the GROUP BY expression v is: the same expression, or
// the same column named with or without its table.
func matchGroup(groups []*pg_query.Node, v *pg_query.Node) int {
	for i, g := range groups {
		if exprEqual(g, v) {
			return i
		}
	}
	cr := v.GetColumnRef()
	if cr == nil || columnName(v) == "" {
		return -1
	}
	for i, g := range groups {
		gc := g.GetColumnRef()
		if gc != nil && columnName(g) == columnName(v) && (len(gc.Fields) == 1 || len(cr.Fields) == 1) {
			return i
		}
	}
	return -1
}

// splitCall returns the combine step and the partial aggregates the nodes
// compute for one aggregate call with final type typ, and an expression
// the nodes must group by as well (for count(DISTINCT x)) or nil. The
// list aggregates learn the types of their arguments from t.
func splitCall(t *typer, fc *pg_query.FuncCall, typ uint32) (executor.Agg, []*pg_query.Node, *pg_query.Node, error) {
	if fc.AggDistinct {
		return splitCountDistinct(fc)
	}
	if name, _ := funcName(fc); isListAggregate(name) {
		ag, partials, err := splitList(t, fc, name, typ)
		return ag, partials, nil, err
	}
	ag, partials, err := splitAggregate(fc, typ)
	return ag, partials, nil, err
}

func hasCountDistinct(aggs []executor.Agg) bool {
	for _, ag := range aggs {
		if ag.Kind == executor.AggCountDistinct {
			return true
		}
	}
	return false
}

// splitAggregate returns the combine step and the partial aggregates the
// nodes compute for one aggregate call (not DISTINCT) with final type typ.
func splitAggregate(fc *pg_query.FuncCall, typ uint32) (executor.Agg, []*pg_query.Node, error) {
	name, _ := funcName(fc)
	if fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggWithinGroup || fc.FuncVariadic {
		return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "%s(DISTINCT or ORDER BY ...) over many shards is not supported yet", name)
	}
	self := &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: clone(fc)}}
	switch name {
	case "count":
		return executor.Agg{Kind: executor.AggCount, Type: typ}, []*pg_query.Node{self}, nil
	case "sum":
		switch typ {
		case oidInt8, oidNumeric, oidFloat4, oidFloat8:
			return executor.Agg{Kind: executor.AggSum, Type: typ}, []*pg_query.Node{self}, nil
		}
		return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "sum of type %d over many shards is not supported yet", typ)
	case "min", "max":
		kind := executor.AggMin
		if name == "max" {
			kind = executor.AggMax
		}
		if executor.IsDateTime(typ) {
			// The partial's epoch follows it and decides the combine.
			return executor.Agg{Kind: kind, Type: typ, Keyed: true}, []*pg_query.Node{self, epochOf(self)}, nil
		}
		if !executor.Comparable(typ) {
			return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "%s of type %d over many shards is not supported yet", name, typ)
		}
		return executor.Agg{Kind: kind, Type: typ}, []*pg_query.Node{self}, nil
	case "avg":
		cast, err := partialCast(name, typ)
		if err != nil {
			return executor.Agg{}, nil, err
		}
		if len(fc.Args) != 1 {
			return executor.Agg{}, nil, pgerr.New(pgerr.SyntaxError, "avg takes one argument")
		}
		arg := clone(fc.Args[0])
		if cast == "float8" {
			arg = &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
				Arg:      arg,
				TypeName: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(cast)}, Typemod: -1},
			}}}
		}
		// A numeric avg (of integers or numeric) needs an exact sum: the
		// argument's own sum is exact (bigint for smallint and integer,
		// numeric otherwise) and cheaper than summing it cast to numeric.
		sum := &pg_query.FuncCall{Funcname: []*pg_query.Node{pg_query.MakeStrNode("sum")}, Args: []*pg_query.Node{arg}, Location: -1}
		cnt := &pg_query.FuncCall{Funcname: []*pg_query.Node{pg_query.MakeStrNode("count")}, Args: []*pg_query.Node{clone(fc.Args[0])}, Location: -1}
		if fc.AggFilter != nil {
			sum.AggFilter = clone(fc.AggFilter)
			cnt.AggFilter = clone(fc.AggFilter)
		}
		return executor.Agg{Kind: executor.AggAvg, Type: typ}, []*pg_query.Node{
			{Node: &pg_query.Node_FuncCall{FuncCall: sum}},
			{Node: &pg_query.Node_FuncCall{FuncCall: cnt}},
		}, nil
	case "bool_and", "bool_or", "every", "bit_and", "bit_or":
		return splitBoolBits(fc, name, typ)
	case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop":
		return splitVariance(fc, name, typ)
	}
	return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "aggregate %s over many shards is not supported yet", name)
}
