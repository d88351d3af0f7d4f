package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// pullNarrowing is what a pull needs of one table: the columns the
// statement uses and the WHERE conjuncts that concern that table alone.
// The data nodes apply both, so that only those rows and values travel.
type pullNarrowing struct {
	// name is how the statement names the table (its alias, or its name):
	// the conjuncts refer to it, and the nodes' scans take it as alias.
	name string
	// columns are all the table's columns in order; used[c] says whether
	// the statement reads column c (nil: every column is read).
	columns []string
	used    map[string]bool
	where   []*pg_query.Node
}

// narrowPulls finds, for each table a pulled statement references exactly
// once, the columns and rows it needs. The rows are those passing the
// conjuncts of the WHERE of the SELECT (the statement itself, a subquery,
// a CTE, a branch of a set operation) in whose FROM the table is. A
// conjunct moves to a table's scan only if that table is not on the
// nullable side of an outer join and the conjunct is built of that table's
// columns, constants, parameters, operators and casts (no functions, which
// may be volatile, no subqueries): evaluated before the join it removes
// exactly the rows the WHERE would, and the WHERE still runs.
func narrowPulls(ctx context.Context, env *Env, stmt *pg_query.Node, refs []tableRef) (map[*catalog.Table]*pullNarrowing, error) {
	count := map[*catalog.Table]int{}
	for _, r := range refs {
		if r.table != nil {
			count[r.table]++
		}
	}
	scopes := fromScopes(stmt)
	uses := columnUses(stmt)
	out := map[*catalog.Table]*pullNarrowing{}
	for _, r := range refs {
		scope, ok := scopes[r.rv]
		if r.table == nil || count[r.table] != 1 || !ok {
			continue
		}
		name := r.rv.Relname
		if r.rv.Alias != nil && r.rv.Alias.Aliasname != "" {
			name = r.rv.Alias.Aliasname
		}
		cols, err := TableColumns(ctx, env.Shell, r.table.Schema, r.table.Name)
		if err != nil {
			return nil, err
		}
		n := &pullNarrowing{name: name, columns: cols}
		if !uses.all && !uses.whole[name] {
			n.used = map[string]bool{}
			for _, c := range cols {
				n.used[c] = uses.qualified[name][c] || uses.unqualified[c]
			}
		}
		if where := scope.sel.WhereClause; where != nil && !scope.nullable {
			for _, c := range conjuncts(where) {
				if movableTo(c, name) {
					n.where = append(n.where, c)
				}
			}
		}
		if n.used != nil || len(n.where) > 0 {
			out[r.table] = n
		}
	}
	return out, nil
}

// fromScope is where a table reference stands: in the FROM of sel, and
// whether an outer join there may null-extend it.
type fromScope struct {
	sel      *pg_query.SelectStmt
	nullable bool
}

// fromScopes finds where each table reference of a statement stands.
func fromScopes(stmt *pg_query.Node) map[*pg_query.RangeVar]fromScope {
	scopes := map[*pg_query.RangeVar]fromScope{}
	WalkNodes(stmt, func(n *pg_query.Node) {
		s := n.GetSelectStmt()
		if s == nil || s.Op != pg_query.SetOperation_SETOP_NONE {
			return
		}
		for _, f := range s.FromClause {
			fromTables(f, s, false, scopes)
		}
	})
	return scopes
}

// fromTables records the tables of one FROM entry of sel.
func fromTables(n *pg_query.Node, sel *pg_query.SelectStmt, nullable bool, out map[*pg_query.RangeVar]fromScope) {
	switch {
	case n.GetRangeVar() != nil:
		out[n.GetRangeVar()] = fromScope{sel: sel, nullable: nullable}
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		left, right := nullable, nullable
		switch j.Jointype {
		case pg_query.JoinType_JOIN_LEFT:
			right = true
		case pg_query.JoinType_JOIN_RIGHT:
			left = true
		case pg_query.JoinType_JOIN_FULL:
			left, right = true, true
		case pg_query.JoinType_JOIN_INNER:
		default:
			left, right = true, true // semi, anti: not written in SQL; keep out
		}
		fromTables(j.Larg, sel, left, out)
		fromTables(j.Rarg, sel, right, out)
	}
}

// columnRefs is every column reference of a statement, by the table name
// it is qualified with.
type columnRefs struct {
	all         bool                       // an unqualified *, or a NATURAL join
	whole       map[string]bool            // t.* or a whole-row reference t
	qualified   map[string]map[string]bool // table name -> columns
	unqualified map[string]bool            // columns without a table name (and USING lists)
}

func columnUses(stmt *pg_query.Node) columnRefs {
	u := columnRefs{whole: map[string]bool{}, qualified: map[string]map[string]bool{}, unqualified: map[string]bool{}}
	WalkNodes(stmt, func(n *pg_query.Node) {
		if j := n.GetJoinExpr(); j != nil {
			if j.IsNatural {
				u.all = true
			}
			for _, c := range j.UsingClause {
				u.unqualified[c.GetString_().GetSval()] = true
			}
			return
		}
		cr := n.GetColumnRef()
		if cr == nil {
			return
		}
		var names []string
		star := false
		for _, f := range cr.Fields {
			if f.GetAStar() != nil {
				star = true
				continue
			}
			names = append(names, f.GetString_().GetSval())
		}
		switch {
		case star && len(names) == 0:
			u.all = true
		case star:
			u.whole[names[len(names)-1]] = true
		case len(names) == 1:
			// A column, or a whole-row reference to a table of that name.
			u.unqualified[names[0]] = true
			u.whole[names[0]] = true
		default:
			table, col := names[len(names)-2], names[len(names)-1]
			if u.qualified[table] == nil {
				u.qualified[table] = map[string]bool{}
			}
			u.qualified[table][col] = true
		}
	})
	return u
}

// movableTo reports whether a WHERE conjunct reads only columns qualified
// with table name and is made of parts whose evaluation before the join
// cannot change the result.
func movableTo(c *pg_query.Node, name string) bool {
	ok, refs := true, 0
	WalkNodes(c, func(n *pg_query.Node) {
		switch x := n.Node.(type) {
		case *pg_query.Node_ColumnRef:
			f := x.ColumnRef.Fields
			if len(f) != 2 || f[0].GetString_().GetSval() != name || f[1].GetString_() == nil {
				ok = false
			}
			refs++
		case *pg_query.Node_AConst, *pg_query.Node_ParamRef, *pg_query.Node_TypeCast, *pg_query.Node_TypeName, *pg_query.Node_AExpr,
			*pg_query.Node_BoolExpr, *pg_query.Node_NullTest, *pg_query.Node_BooleanTest, *pg_query.Node_CollateClause,
			*pg_query.Node_List, *pg_query.Node_String_, *pg_query.Node_Integer, *pg_query.Node_Float:
		default:
			ok = false
		}
	})
	return ok && refs > 0
}

// narrowedScan is the statement that reads one shard for a narrowed pull:
// every column in order (NULL for those the statement does not read), the
// shard aliased with the statement's name for the table, and the moved
// conjuncts.
func (n *pullNarrowing) narrowedScan(shard string) (string, error) {
	return n.scan(shard, true)
}

// usedScan reads only the columns the statement uses, in table order.
func (n *pullNarrowing) usedScan(shard string) (string, error) {
	return n.scan(shard, false)
}

// usedColumns are the columns the statement reads, in table order.
func (n *pullNarrowing) usedColumns() []string {
	var out []string
	for _, c := range n.columns {
		if n.used == nil || n.used[c] {
			out = append(out, c)
		}
	}
	return out
}

func (n *pullNarrowing) scan(shard string, allColumns bool) (string, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	first := true
	for _, c := range n.columns {
		use := n.used == nil || n.used[c]
		if !use && !allColumns {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		if use {
			b.WriteString(sqlquote.Ident(n.name) + "." + sqlquote.Ident(c))
		} else {
			b.WriteString("NULL")
		}
	}
	if first {
		b.WriteString("NULL") // no column read: one value per row still
	}
	b.WriteString(" FROM " + shard + " AS " + sqlquote.Ident(n.name))
	for i, c := range n.where {
		cond, err := deparseWhere(c)
		if err != nil {
			return "", err
		}
		if i == 0 {
			b.WriteString(" WHERE (")
		} else {
			b.WriteString(" AND (")
		}
		b.WriteString(cond + ")")
	}
	return b.String(), nil
}

// deparseWhere turns a condition back into SQL text.
func deparseWhere(cond *pg_query.Node) (string, error) {
	const prefix = "SELECT WHERE "
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{WhereClause: cond}}})
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(sql, prefix) {
		return "", fmt.Errorf("planner: condition deparsed as %q", sql)
	}
	return sql[len(prefix):], nil
}

// usesParams reports whether the moved conjuncts use the statement's
// parameters (n may be nil: nothing moved).
func (n *pullNarrowing) usesParams() bool {
	found := false
	if n != nil {
		for _, c := range n.where {
			WalkNodes(c, func(x *pg_query.Node) {
				found = found || x.GetParamRef() != nil
			})
		}
	}
	return found
}
