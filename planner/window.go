package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// windowsByDist says whether every window function of the SELECT (not of
// its subqueries) is partitioned by the distribution column: then each
// partition's rows are in one shard, and every node computes the windows
// of its own rows whole.
func windowsByDist(sel *pg_query.SelectStmt, shape *queryShape) bool {
	named := map[string]*pg_query.WindowDef{}
	for _, w := range sel.WindowClause {
		if d := w.GetWindowDef(); d != nil && d.Name != "" {
			named[d.Name] = d
		}
	}
	ok := true
	walk(sel, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg_query.SubLink, *pg_query.RangeSubselect:
			return false
		case *pg_query.FuncCall:
			w := x.Over
			if w != nil && w.Name != "" {
				w = named[w.Name] // OVER w
			}
			if x.Over != nil && (w == nil || !partitionedByDist(w, named, shape)) {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// partitionedByDist follows a window definition through the named windows
// it builds on (OVER w, OVER (w ORDER BY ...)) to its PARTITION BY.
func partitionedByDist(w *pg_query.WindowDef, named map[string]*pg_query.WindowDef, shape *queryShape) bool {
	for range len(named) + 1 {
		if len(w.PartitionClause) > 0 {
			for _, p := range w.PartitionClause {
				if isDistColumn(p, shape.dist, shape.distR) {
					return true
				}
			}
			return false
		}
		next := named[w.Refname]
		if w.Refname == "" || next == nil || next == w {
			return false
		}
		w = next
	}
	return false
}
