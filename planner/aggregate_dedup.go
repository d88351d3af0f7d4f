package planner

import (
	"context"
	"strconv"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Aggregates with DISTINCT inside (sum(DISTINCT x), avg(DISTINCT x),
// string_agg(DISTINCT x, ','), several count(DISTINCT) of different
// columns) cannot be combined from per-node partial results. They can be
// computed over the distinct combinations of what they read: the
// two-phase aggregate computes the rows GROUP BY the statement's groups
// and every aggregate's arguments, FILTER and ORDER BY expressions (so no
// value and no combination is lost, and each appears once), and
// PostgreSQL runs the statement as written over those rows. DISTINCT
// makes an aggregate blind to repetitions; so are min, max, bool_and,
// bool_or, every, bit_and and bit_or, which may stand beside them. Any
// other aggregate (count(*), sum(x)) counts repetitions: then this plan
// does not apply.

// dedupInvariant are the aggregates whose result repeated rows do not
// change.
var dedupInvariant = map[string]bool{"min": true, "max": true, "bool_and": true, "bool_or": true, "every": true, "bit_and": true, "bit_or": true}

func planAggregateDedup(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	outer, groups, err := finishing(sel)
	if err != nil {
		return nil, err
	}
	outer.TargetList = cloneList(sel.TargetList)
	outer.GroupClause = cloneList(sel.GroupClause)
	outer.HavingClause = cloneOrNil(sel.HavingClause)
	if hasSubquery(outer) {
		return nil, pgerr.Unsupported(hintGroupByDist, "subqueries over aggregates of many shards are not supported yet")
	}
	// What the rows must keep: the groups, then what the aggregates read.
	keep := append([]*pg_query.Node(nil), groups...)
	add := func(n *pg_query.Node) {
		if n == nil || !readsColumns(n) || matchGroup(keep, n) >= 0 {
			return
		}
		keep = append(keep, clone(n)) // outer's own nodes are rewritten below
	}
	distinct := false
	var bad error
	WalkNodes(outer, func(n *pg_query.Node) {
		fc, ok := aggregateCall(n)
		if !ok || bad != nil {
			return
		}
		name, _ := funcName(fc)
		switch {
		case fc.AggDistinct:
			distinct = true
		case !dedupInvariant[name]:
			bad = pgerr.Unsupported(hintGroupByDist, "%s beside an aggregate with DISTINCT over many shards is not supported yet", name)
			return
		}
		for _, a := range fc.Args {
			add(a)
		}
		add(fc.AggFilter)
		for _, o := range fc.AggOrder {
			add(o.GetSortBy().GetNode())
		}
	})
	if bad != nil {
		return nil, bad
	}
	if !distinct {
		return nil, pgerr.Unsupported(hintGroupByDist, "no aggregate with DISTINCT")
	}
	if len(keep) == 0 {
		return nil, pgerr.Unsupported(hintGroupByDist, "aggregates with DISTINCT of constants over many shards are not supported yet")
	}
	inner := &pg_query.SelectStmt{FromClause: sel.FromClause, WhereClause: sel.WhereClause, WithClause: sel.WithClause}
	names := make([]string, len(keep))
	for i, k := range keep {
		inner.TargetList = append(inner.TargetList, pg_query.MakeResTargetNodeWithVal(clone(k), -1))
		inner.GroupClause = append(inner.GroupClause, clone(k))
		names[i] = "k" + strconv.Itoa(i+1)
	}
	WalkNodes(outer, func(n *pg_query.Node) {
		if i := matchGroup(keep, n); i >= 0 {
			n.Node = finishColumn(names[i]).Node
		}
	})
	if ref := columnOutsideGroups(outer); ref != "" {
		return nil, pgerr.Unsupported(hintGroupByDist, "column %s is neither grouped nor aggregated", ref)
	}
	return finishOver(ctx, env, st, sel, desc, inner, outer, names)
}

// readsColumns says whether a column is read in n.
func readsColumns(n *pg_query.Node) bool {
	found := false
	WalkNodes(n, func(m *pg_query.Node) {
		if m.GetColumnRef() != nil {
			found = true
		}
	})
	return found
}
