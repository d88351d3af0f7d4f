package planner

import (
	"context"
	"strconv"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// An aggregation whose select list, HAVING, DISTINCT or ORDER BY compute
// with its aggregates (sum(a) / count(*), HAVING avg(x) > 2 * min(y),
// ORDER BY round(avg(v), 2), DISTINCT over aggregates) runs in two steps.
// The two-phase aggregate computes the groups: the GROUP BY expressions
// and every aggregate call the statement makes. PostgreSQL then finishes
// the statement over those rows, inlined as typed VALUES into its select
// list, HAVING (as WHERE), DISTINCT, ORDER BY and LIMIT, on one node's
// shell database: every expression, operator, collation and NULL order is
// PostgreSQL's own.

// finishRelation is the alias of the groups' rows in the finishing
// statement.
const finishRelation = "distgres_groups"

// finishing starts the statement PostgreSQL finishes with sel's WINDOW,
// DISTINCT, ORDER BY and LIMIT, and returns sel's GROUP BY expressions.
func finishing(sel *pg_query.SelectStmt) (*pg_query.SelectStmt, []*pg_query.Node, error) {
	if sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES {
		return nil, nil, pgerr.Unsupported("Use LIMIT without WITH TIES.", "FETCH ... WITH TIES over many shards is not supported yet")
	}
	groups, err := groupExprs(sel)
	if err != nil {
		return nil, nil, err
	}
	return &pg_query.SelectStmt{
		WindowClause:   cloneList(sel.WindowClause),
		DistinctClause: cloneList(sel.DistinctClause),
		SortClause:     cloneList(sel.SortClause),
		LimitCount:     cloneOrNil(sel.LimitCount),
		LimitOffset:    cloneOrNil(sel.LimitOffset),
		LimitOption:    sel.LimitOption,
	}, groups, nil
}

func planAggregateFinish(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	outer, groups, err := finishing(sel)
	if err != nil {
		return nil, err
	}
	outer.WhereClause = cloneOrNil(sel.HavingClause)
	for i, t := range sel.TargetList {
		rt := clone(t.GetResTarget())
		if rt.Name == "" {
			rt.Name = desc.Columns[i].Name
		}
		outer.TargetList = append(outer.TargetList, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: rt}})
	}
	if hasSubquery(outer) {
		return nil, pgerr.Unsupported(hintGroupByDist, "subqueries over aggregates of many shards are not supported yet")
	}
	inner := &pg_query.SelectStmt{FromClause: sel.FromClause, WhereClause: sel.WhereClause, WithClause: sel.WithClause}
	var names []string
	for i, g := range groups {
		inner.TargetList = append(inner.TargetList, pg_query.MakeResTargetNodeWithVal(clone(g), -1))
		inner.GroupClause = append(inner.GroupClause, clone(g))
		names = append(names, "g"+strconv.Itoa(i+1))
	}
	var aggs []*pg_query.Node
	WalkNodes(outer, func(n *pg_query.Node) {
		if i := matchGroup(groups, n); i >= 0 {
			n.Node = finishColumn(names[i]).Node
			return
		}
		if _, ok := aggregateCall(n); !ok {
			return
		}
		j := -1
		for k, a := range aggs {
			if exprEqual(a, n) {
				j = k
			}
		}
		if j < 0 {
			j = len(aggs)
			aggs = append(aggs, clone(n))
			inner.TargetList = append(inner.TargetList, pg_query.MakeResTargetNodeWithVal(clone(n), -1))
			names = append(names, "a"+strconv.Itoa(j+1))
		}
		n.Node = finishColumn(names[len(groups)+j]).Node
	})
	if ref := columnOutsideGroups(outer); ref != "" {
		// A column the GROUP BY makes unique (functional dependency):
		// PostgreSQL allows it, the groups' rows do not carry it.
		return nil, pgerr.Unsupported(hintGroupByDist, "column %s is neither grouped nor aggregated", ref)
	}
	return finishOver(ctx, env, st, sel, desc, inner, outer, names)
}

// finishOver plans the two steps: inner (a two-phase aggregate) computes
// the rows, columns names, that outer reads as finishRelation.
func finishOver(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description, inner, outer *pg_query.SelectStmt, names []string) (executor.Operator, error) {
	innerNode := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: inner}}
	innerSQL, err := deparse(innerNode)
	if err != nil {
		return nil, err
	}
	innerDesc, err := env.Shell.Describe(ctx, innerSQL, desc.ParamOIDs)
	if err != nil {
		return nil, err
	}
	innerSt := &Statement{SQL: innerSQL, Node: innerNode, ParamOIDs: st.ParamOIDs}
	input, err := planTwoPhaseAggregate(ctx, env, innerSt, inner, innerDesc)
	if err != nil {
		return nil, err
	}
	types, err := valuesTypes(ctx, env.Shell, innerDesc.Columns)
	if err != nil {
		return nil, err
	}
	placeholder := "distgres_" + placeholderToken(st.SQL)
	outer.FromClause = []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: &pg_query.RangeVar{
		Relname: placeholder, Inh: true, Relpersistence: "p", Alias: &pg_query.Alias{Aliasname: finishRelation},
	}}}}
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: outer}})
	if err != nil {
		return nil, err
	}
	if strings.Count(sql, placeholder) != 1 {
		return nil, pgerr.New(pgerr.InternalError, "finishing statement names its groups %d times", strings.Count(sql, placeholder))
	}
	node, err := shellNode(env)
	if err != nil {
		return nil, err
	}
	fallback, err := planPull(ctx, env, st, sel, desc)
	if err != nil {
		return nil, err
	}
	return &executor.Finish{Input: input, Names: names, Types: types, Placeholder: placeholder,
		Target: executor.Target{Node: node, Database: env.ShellDB, SQL: []string{sql}}, Cols: desc.Columns, Fallback: fallback}, nil
}

// finishColumn is a reference to a column of the groups' rows.
func finishColumn(name string) *pg_query.Node {
	return pg_query.MakeColumnRefNode([]*pg_query.Node{pg_query.MakeStrNode(finishRelation), pg_query.MakeStrNode(name)}, -1)
}

// columnOutsideGroups returns a column the finishing statement still
// reads from the statement's tables, or "". ORDER BY and DISTINCT ON may
// name output columns.
func columnOutsideGroups(outer *pg_query.SelectStmt) string {
	outputs := map[string]bool{}
	for _, t := range outer.TargetList {
		outputs[t.GetResTarget().GetName()] = true
	}
	found := ""
	check := func(m proto.Message, outputNames bool) {
		WalkNodes(m, func(n *pg_query.Node) {
			cr := n.GetColumnRef()
			if cr == nil || found != "" {
				return
			}
			if len(cr.Fields) == 2 && cr.Fields[0].GetString_().GetSval() == finishRelation {
				return
			}
			if outputNames && len(cr.Fields) == 1 && outputs[columnName(n)] {
				return
			}
			found = columnName(n)
			if found == "" {
				found = "*"
			}
		})
	}
	for _, t := range outer.TargetList {
		check(t, false)
	}
	if outer.WhereClause != nil {
		check(outer.WhereClause, false)
	}
	if outer.HavingClause != nil {
		check(outer.HavingClause, false)
	}
	for _, g := range outer.GroupClause {
		check(g, true)
	}
	for _, s := range outer.SortClause {
		check(s, true)
	}
	for _, d := range outer.DistinctClause {
		if d.Node != nil {
			check(d, true)
		}
	}
	return found
}

// hasSubquery says whether a subquery appears in m.
func hasSubquery(m proto.Message) bool {
	found := false
	walk(m, func(x proto.Message) bool {
		switch x.(type) {
		case *pg_query.SubLink, *pg_query.RangeSubselect:
			found = true
		}
		return !found
	})
	return found
}

// valuesTypes names the columns' types for typed VALUES: 0A000 for a type
// whose values cannot be read back from text (anonymous records).
func valuesTypes(ctx context.Context, sh Shell, cols []executor.Column) ([]string, error) {
	for _, c := range cols {
		switch c.TypeOID {
		case 705, 2249, 2275, 2278, 2287: // unknown, record, cstring, void, record[]
			return nil, pgerr.Unsupported(hintJoins, "values of type %d cannot travel between nodes", c.TypeOID)
		}
	}
	return sqlTypeNames(ctx, sh, cols)
}

// sqlTypeNames asks PostgreSQL for the SQL names of the columns' types.
func sqlTypeNames(ctx context.Context, sh Shell, cols []executor.Column) ([]string, error) {
	oids := make([]string, len(cols))
	mods := make([]string, len(cols))
	for i, c := range cols {
		oids[i] = strconv.FormatUint(uint64(c.TypeOID), 10)
		mods[i] = strconv.FormatInt(int64(c.TypeModifier), 10)
	}
	v, ok, err := sh.QueryValue(ctx, "SELECT string_agg(pg_catalog.format_type(t, NULLIF(m, -1)), chr(31) ORDER BY i) FROM unnest('{"+
		strings.Join(oids, ",")+"}'::oid[], '{"+strings.Join(mods, ",")+"}'::int[]) WITH ORDINALITY AS u(t, m, i)")
	if err != nil {
		return nil, err
	}
	types := strings.Split(v, "\x1f")
	if !ok || len(types) != len(cols) {
		return nil, pgerr.New(pgerr.InternalError, "could not name the types of %d columns", len(cols))
	}
	return types, nil
}

func cloneList(list []*pg_query.Node) []*pg_query.Node {
	out := make([]*pg_query.Node, len(list))
	for i, n := range list {
		if n != nil {
			out[i] = clone(n)
		}
	}
	return out
}

func cloneOrNil(n *pg_query.Node) *pg_query.Node {
	if n == nil {
		return nil
	}
	return clone(n)
}
