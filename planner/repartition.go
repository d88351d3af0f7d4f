package planner

import (
	"slices"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A shipped table joined by equality with the anchor's distribution column
// need not go whole to every node: a row of it can only join anchor rows
// whose distribution value equals its join value, and those all live in
// the one shard that value hashes to. So the table is repartitioned: each
// shard of the anchor gets the rows whose join value belongs there, and
// the statement plans as a join of colocated tables.

// repartitionColumn returns the column of c's table (referenced by r)
// that the top-level SELECT equates with the anchor's distribution column,
// in a join condition or the WHERE, and its index among the shipped
// columns; "" when there is none whose type places values as the anchor's
// distribution column does.
func repartitionColumn(sel *pg_query.SelectStmt, anchor, r tableRef, c shipCandidate) (string, int) {
	a := anchor.table
	if a.Method != catalog.MethodHash && a.Method != catalog.MethodModulo {
		return "", -1
	}
	for _, col := range anchorEqualities(sel, anchor, r.rv) {
		i := slices.Index(c.rows.Names, sqlquote.Ident(col))
		if i >= 0 && catalog.ColocationFamily(c.oids[i]) == catalog.ColocationFamily(a.DistType) {
			return col, i
		}
	}
	return "", -1
}

// anchorEqualities lists the columns of rv that the top-level SELECT's
// join conditions and WHERE equate with the anchor's distribution column:
// conjuncts "anchor.dist = rv.col" (either way round, both qualified) and
// USING of the distribution column between the two.
func anchorEqualities(sel *pg_query.SelectStmt, anchor tableRef, rv *pg_query.RangeVar) []string {
	var cols []string
	quals := topQuals(sel, func(j *pg_query.JoinExpr) {
		for _, u := range j.UsingClause {
			col := u.GetString_().GetSval()
			l, r := []*pg_query.Node{j.Larg}, []*pg_query.Node{j.Rarg}
			if col == anchor.table.DistColumn && (fromContains(l, anchor.rv) && fromContains(r, rv) || fromContains(r, anchor.rv) && fromContains(l, rv)) {
				cols = append(cols, col)
			}
		}
	})
	for _, q := range quals {
		for _, c := range conjuncts(q) {
			l, r, ok := equality(c)
			if !ok {
				continue
			}
			if isDistColumn(r, anchor.table, anchor.rv) {
				l, r = r, l
			}
			if !isQualifiedDist(l, anchor) {
				continue
			}
			if col, ok := qualifiedColumn(r, rv); ok {
				cols = append(cols, col)
			}
		}
	}
	return cols
}

// topQuals returns the join conditions of the top-level FROM and the
// WHERE of sel, calling using for every join on the way.
func topQuals(sel *pg_query.SelectStmt, using func(j *pg_query.JoinExpr)) []*pg_query.Node {
	var quals []*pg_query.Node
	var joins func(n *pg_query.Node)
	joins = func(n *pg_query.Node) {
		j := n.GetJoinExpr()
		if j == nil {
			return
		}
		joins(j.Larg)
		joins(j.Rarg)
		if j.Quals != nil {
			quals = append(quals, j.Quals)
		}
		using(j)
	}
	for _, f := range sel.FromClause {
		joins(f)
	}
	if sel.WhereClause != nil {
		quals = append(quals, sel.WhereClause)
	}
	return quals
}

// equality returns the operands of "l = r".
func equality(n *pg_query.Node) (l, r *pg_query.Node, ok bool) {
	e := n.GetAExpr()
	if e == nil || e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(e.Name) != 1 || e.Name[0].GetString_().GetSval() != "=" {
		return nil, nil, false
	}
	return e.Lexpr, e.Rexpr, true
}

// isQualifiedDist says whether n is t's distribution column qualified by
// its name or alias.
func isQualifiedDist(n *pg_query.Node, t tableRef) bool {
	cr := n.GetColumnRef()
	return cr != nil && len(cr.Fields) == 2 && isDistColumn(n, t.table, t.rv)
}

// qualifiedColumn returns the column n names when it is a column of rv
// qualified by rv's name or alias.
func qualifiedColumn(n *pg_query.Node, rv *pg_query.RangeVar) (string, bool) {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) != 2 {
		return "", false
	}
	name := rv.Relname
	if rv.Alias != nil && rv.Alias.Aliasname != "" {
		name = rv.Alias.Aliasname
	}
	q, c := cr.Fields[0].GetString_(), cr.Fields[1].GetString_()
	if q == nil || c == nil || q.Sval != name {
		return "", false
	}
	return c.Sval, true
}

// partitionedStandIn is the table a repartitioned table is planned as:
// colocated with the anchor, with its shards on the same nodes, and
// distributed by the join column. Its rendered shard names are
// placeholders no statement contains by chance.
func partitionedStandIn(env *Env, name string, anchor *catalog.Table, c shipCandidate) (*catalog.Table, *executor.Partitioning, error) {
	stand := &catalog.Table{Schema: standInSchema, Name: name, Method: anchor.Method,
		DistColumn: c.joinColumn, DistType: anchor.DistType, ColocationID: anchor.ColocationID, Shards: anchor.Shards}
	part := &executor.Partitioning{Column: c.joinIndex, ShardOf: func(v []byte, format int16) (int, error) {
		return shardIndex(anchor, anchor.DistType, v, format)
	}}
	for _, sh := range anchor.Shards {
		node, err := placementNode(env, sh)
		if err != nil {
			return nil, nil, err
		}
		part.Nodes = append(part.Nodes, node)
	}
	return stand, part, nil
}
