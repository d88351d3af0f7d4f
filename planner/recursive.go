package planner

import (
	"context"
	"fmt"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Recursive planning of subqueries: a subquery in the top-level FROM or a
// common table expression of the top-level SELECT that reads distributed
// tables, and stands on its own (not LATERAL, not recursive, not reading
// the statement's other CTEs), is planned as a statement of its own
// (routed, merged, aggregated in two phases, shipped...). When the
// statement runs its rows are computed first and put into the rest of the
// statement as typed VALUES, which then plans as if the subquery were a
// reference table: routed to one node when nothing distributed is left,
// merged over the shards of what is. Past distgres.max_broadcast_size of
// such rows the statement is pulled instead.

// inlinedSubquery is a subquery or CTE replaced by a stand-in.
type inlinedSubquery struct {
	node *pg_query.Node
	// aliases are a CTE's column list: names of its first columns.
	aliases []string
}

func planRecursive(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	if sel.Op != pg_query.SetOperation_SETOP_NONE || len(sel.LockingClause) > 0 {
		return nil, pgerr.Unsupported(hintJoins, "no subquery to plan on its own")
	}
	if err := requireCOrder(ctx, env, st.Node); err != nil {
		return nil, err
	}
	outer := clone(sel)
	token := placeholderToken(st.SQL)
	var subs []inlinedSubquery
	standName := func(i int) string { return fmt.Sprintf("%s_q%d", token, i) }

	// Common table expressions, replaced wherever the statement names them.
	if w := outer.WithClause; w != nil && !w.Recursive {
		all := cteNamesOf(w)
		var kept []*pg_query.Node
		for _, c := range w.Ctes {
			cte := c.GetCommonTableExpr()
			aliases, ok := stringList(cte.Aliascolnames)
			if cte.GetCtequery().GetSelectStmt() == nil || !ok || !readsDistributed(env, cte.Ctequery) ||
				readsNames(cte.Ctequery, all) || redefines(outer, cte.Ctename) {
				kept = append(kept, c)
				continue
			}
			if replaceRelation(outer, cte.Ctename, standName(len(subs))) == 0 {
				// Never read: PostgreSQL does not run it, nor does distgres.
				continue
			}
			subs = append(subs, inlinedSubquery{node: cte.Ctequery, aliases: aliases})
		}
		w.Ctes = kept
		if len(kept) == 0 {
			outer.WithClause = nil
		}
	}
	// Subqueries directly in the top-level FROM (or its joins).
	var fromItem func(n *pg_query.Node)
	fromItem = func(n *pg_query.Node) {
		switch x := n.Node.(type) {
		case *pg_query.Node_JoinExpr:
			fromItem(x.JoinExpr.Larg)
			fromItem(x.JoinExpr.Rarg)
		case *pg_query.Node_RangeSubselect:
			rs := x.RangeSubselect
			if rs.Lateral || rs.Alias == nil || !readsDistributed(env, rs.Subquery) ||
				(outer.WithClause != nil && readsNames(rs.Subquery, cteNamesOf(outer.WithClause))) {
				return
			}
			n.Node = standInRef(standName(len(subs)), rs.Alias).Node
			subs = append(subs, inlinedSubquery{node: rs.Subquery})
		}
	}
	for _, f := range outer.FromClause {
		fromItem(f)
	}
	if len(subs) == 0 {
		return nil, pgerr.Unsupported(hintJoins, "no subquery to plan on its own")
	}

	op := &executor.Broadcast{Database: env.ShardDB}
	shipped := map[string]*catalog.Table{}
	for i, s := range subs {
		p, err := planPart(ctx, env, s.node.GetSelectStmt(), desc.ParamOIDs)
		if err != nil {
			return nil, err
		}
		types, err := valuesTypes(ctx, env.Shell, p.Columns)
		if err != nil {
			return nil, err
		}
		if len(s.aliases) > len(p.Columns) {
			return nil, pgerr.Unsupported(hintJoins, "a CTE with more column names than columns")
		}
		cols := make([]string, len(p.Columns))
		seen := map[string]bool{}
		for c, col := range p.Columns {
			name := col.Name
			if c < len(s.aliases) {
				name = s.aliases[c]
			}
			if seen[name] {
				return nil, pgerr.Unsupported(hintJoins, "a subquery with two columns named %q", name)
			}
			seen[name] = true
			cols[c] = sqlquote.Ident(name)
		}
		stand := standIn(env, standName(i))
		shipped[stand.Schema+"."+stand.Name] = stand
		op.Tables = append(op.Tables, executor.InlineTable{Source: p.Root, Names: cols, Types: types, UsesParams: true})
		op.Placeholders = append(op.Placeholders, []string{qualifiedShard(stand, stand.Shards[0])})
	}
	n := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: outer}}
	sql, err := deparse(n)
	if err != nil {
		return nil, err
	}
	if n, err = parseOne(sql); err != nil {
		return nil, err
	}
	benv := *env
	benv.shipped = shipped
	if op.Plan, err = planSplit(ctx, &benv, &Statement{SQL: sql, Node: n, ParamOIDs: st.ParamOIDs}, n.GetSelectStmt(), desc); err != nil {
		return nil, err
	}
	op.Nodes = executor.PlanNodes(op.Plan)
	if op.Fallback, err = planPull(ctx, env, st, sel, desc); err != nil {
		return nil, err
	}
	return op, nil
}

// standInRef is a reference to a stand-in, under alias.
func standInRef(name string, alias *pg_query.Alias) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_RangeVar{RangeVar: &pg_query.RangeVar{
		Schemaname: standInSchema, Relname: name, Inh: true, Relpersistence: "p", Alias: alias, Location: -1,
	}}}
}

// readsDistributed says whether a distributed table is read below n.
func readsDistributed(env *Env, n *pg_query.Node) bool {
	for _, rv := range rangeVars(n) {
		if t := lookupTable(env, rv); t != nil && t.Method != catalog.MethodReplication {
			return true
		}
	}
	return false
}

// readsNames says whether n names one of names as a relation without a
// schema (a CTE of the statement).
func readsNames(n *pg_query.Node, names map[string]bool) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		if rv, ok := m.(*pg_query.RangeVar); ok && rv.Schemaname == "" && names[rv.Relname] {
			found = true
		}
		return !found
	})
	return found
}

// redefines says whether a WITH below the top level defines name again.
func redefines(sel *pg_query.SelectStmt, name string) bool {
	found := false
	walk(sel, func(m proto.Message) bool {
		if w, ok := m.(*pg_query.WithClause); ok && w != sel.WithClause && cteNamesOf(w)[name] {
			found = true
		}
		return !found
	})
	return found
}

// replaceRelation puts a stand-in where the statement names the CTE name,
// and returns how many times it did.
func replaceRelation(sel *pg_query.SelectStmt, name, stand string) int {
	count := 0
	WalkNodes(sel, func(n *pg_query.Node) {
		rv := n.GetRangeVar()
		if rv == nil || rv.Schemaname != "" || rv.Relname != name {
			return
		}
		alias := rv.Alias
		if alias == nil {
			alias = &pg_query.Alias{Aliasname: name}
		}
		n.Node = standInRef(stand, alias).Node
		count++
	})
	return count
}

func cteNamesOf(w *pg_query.WithClause) map[string]bool {
	names := map[string]bool{}
	for _, c := range w.Ctes {
		names[c.GetCommonTableExpr().GetCtename()] = true
	}
	return names
}

// stringList returns the strings of a list of String nodes.
func stringList(list []*pg_query.Node) ([]string, bool) {
	var out []string
	for _, n := range list {
		s := n.GetString_()
		if s == nil {
			return nil, false
		}
		out = append(out, s.Sval)
	}
	return out, true
}
