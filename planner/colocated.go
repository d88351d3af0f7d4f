package planner

import (
	"github.com/distgres/distgres/catalog"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Joins of colocated tables push down whole: when every distributed table
// of a query is in one colocation group (hash or modulo) and the join
// conditions tie all of them together by equality of their distribution
// columns, matching rows live in the same shard index, so each node can
// join its own shards (and the per-node unions of them) on its own.

// colocatedJoin reports whether the distributed references dists of the
// top-level SELECT sel are joined that way.
func colocatedJoin(sel *pg_query.SelectStmt, dists []tableRef) bool {
	if sel == nil || len(dists) < 2 || (sel.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED && sel.Op != pg_query.SetOperation_SETOP_NONE) {
		return false
	}
	first := dists[0].table
	for _, d := range dists {
		if d.table.ColocationID != first.ColocationID || (d.table.Method != catalog.MethodHash && d.table.Method != catalog.MethodModulo) ||
			!fromContains(sel.FromClause, d.rv) {
			return false
		}
	}
	parent := make([]int, len(dists))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			i = parent[i]
		}
		return i
	}
	union := func(i, j int) { parent[find(i)] = find(j) }
	distOf := func(n *pg_query.Node) int {
		if cr := n.GetColumnRef(); cr == nil || len(cr.Fields) != 2 {
			return -1 // only qualified references name one table
		}
		for i, d := range dists {
			if isDistColumn(n, d.table, d.rv) {
				return i
			}
		}
		return -1
	}
	quals := topQuals(sel, func(j *pg_query.JoinExpr) {
		for _, u := range j.UsingClause {
			col := u.GetString_().GetSval()
			var tied []int
			for i, d := range dists {
				if d.table.DistColumn == col && (fromContains([]*pg_query.Node{j.Larg}, d.rv) || fromContains([]*pg_query.Node{j.Rarg}, d.rv)) {
					tied = append(tied, i)
				}
			}
			for _, i := range tied[min(1, len(tied)):] {
				union(i, tied[0])
			}
		}
	})
	for _, q := range quals {
		for _, c := range conjuncts(q) {
			l, r, ok := equality(c)
			if !ok {
				continue
			}
			if l, r := distOf(l), distOf(r); l >= 0 && r >= 0 {
				union(l, r)
			}
		}
	}
	root := find(0)
	for i := range dists {
		if find(i) != root {
			return false
		}
	}
	return true
}

// conjuncts splits a condition into its top-level AND terms.
func conjuncts(n *pg_query.Node) []*pg_query.Node {
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg_query.BoolExprType_AND_EXPR {
		var out []*pg_query.Node
		for _, a := range b.Args {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []*pg_query.Node{n}
}

// sameShards says whether t's shard i lies with dist's shard i: t is dist
// or colocated with it (a reference table is not).
func sameShards(t, dist *catalog.Table) bool {
	return dist != nil && t != nil && t.Method != catalog.MethodReplication && t.ColocationID == dist.ColocationID && len(t.Shards) == len(dist.Shards)
}
