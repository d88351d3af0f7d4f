package planner

import (
	"context"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// SELECT DISTINCT ON (keys) over many shards: each node keeps its own first
// row of each group, in the statement's order, and the coordinator merges
// the nodes' rows in that order, passing on the first row of each group.
// PostgreSQL requires the ORDER BY to begin with the DISTINCT ON keys, so
// equal keys come together in the merge, and the first row of a group
// there is the first of the nodes' first rows: the one PostgreSQL keeps.
// Where the ORDER BY names only some of the keys (or there is none), the
// others are added to it: a finer order than the statement's.

// isDistinctOn says whether sel is a SELECT DISTINCT ON.
func isDistinctOn(sel *pg_query.SelectStmt) bool {
	return len(sel.DistinctClause) > 0 && sel.DistinctClause[0].Node != nil
}

func planDistinctOn(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	keys := sel.DistinctClause
	matched := make([]bool, len(keys))
	leading := 0
	for _, s := range sel.SortClause {
		j := matchingKey(sel, desc, keys, matched, s.GetSortBy().GetNode())
		if j < 0 {
			break
		}
		matched[j] = true
		leading++
	}
	if leading == len(keys) {
		return planMergeScatter(ctx, env, st, sel, desc, len(keys))
	}
	if leading < len(sel.SortClause) {
		// PostgreSQL refuses this shape before distgres plans it.
		return nil, pgerr.New(pgerr.InvalidColumnReference, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
	}
	w := clone(sel)
	for j, k := range keys {
		if !matched[j] {
			w.SortClause = append(w.SortClause, &pg_query.Node{Node: &pg_query.Node_SortBy{SortBy: &pg_query.SortBy{Node: clone(k), Location: -1}}})
		}
	}
	n := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: w}}
	sql, err := deparse(n)
	if err != nil {
		return nil, err
	}
	ordered := *st
	ordered.SQL, ordered.Node = sql, n
	return planMergeScatter(ctx, env, &ordered, w, desc, len(keys))
}

// matchingKey returns the index of the DISTINCT ON key not matched yet
// that expr (an ORDER BY item) names, or -1.
func matchingKey(sel *pg_query.SelectStmt, desc *Description, keys []*pg_query.Node, matched []bool, expr *pg_query.Node) int {
	if expr == nil {
		return -1
	}
	col := outputColumn(sel, desc, expr)
	for j, k := range keys {
		if matched[j] {
			continue
		}
		if kc := outputColumn(sel, desc, k); col >= 0 || kc >= 0 {
			if kc == col {
				return j
			}
			continue
		}
		if exprEqual(k, expr) {
			return j
		}
	}
	return -1
}
