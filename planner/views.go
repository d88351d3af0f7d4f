package planner

import (
	"context"
	"github.com/distgres/distgres/sqlquote"
	"strings"

	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// maxViewDepth bounds the expansion of views defined on views.
const maxViewDepth = 16

// expandViews replaces references to views (kept in the shell databases)
// with their definitions as subqueries, so that the planner sees the
// distributed tables the views read. PostgreSQL itself would read the empty
// logical tables.
func expandViews(ctx context.Context, env *Env, st *Statement) (*Statement, error) {
	for depth := 0; ; depth++ {
		views, err := findViews(ctx, env, st.Node)
		if err != nil || len(views) == 0 {
			return st, err
		}
		if depth == maxViewDepth {
			return nil, pgerr.Unsupported("Define the view on tables.", "views nested more than %d deep are not supported", maxViewDepth)
		}
		if target := writeTarget(st.Node); target != nil {
			if _, ok := views[target]; ok {
				return nil, pgerr.Unsupported("Write to the view's table instead.", "writing through a view is not supported")
			}
		}
		var rvs []*pg_query.RangeVar
		for rv := range views {
			rvs = append(rvs, rv)
		}
		tpl, err := newTemplate(st.SQL, rvs)
		if err != nil {
			return nil, err
		}
		sql := tpl.render(func(rv *pg_query.RangeVar) (string, bool) {
			return views[rv], true
		})
		node, err := parseOne(sql)
		if err != nil {
			return nil, err
		}
		st = &Statement{SQL: sql, Node: node, ParamOIDs: st.ParamOIDs, Distribute: st.Distribute}
	}
}

// findViews returns the view references of a statement with the subquery
// text that replaces each.
func findViews(ctx context.Context, env *Env, n *pg_query.Node) (map[*pg_query.RangeVar]string, error) {
	var out map[*pg_query.RangeVar]string
	for _, rv := range rangeVars(n) {
		if resolve(env, rv) != nil || systemRelation(rv) {
			continue
		}
		name := sqlquote.Ident(rv.Relname)
		if rv.Schemaname != "" {
			name = sqlquote.Ident(rv.Schemaname) + "." + name
		}
		v, ok, err := env.Shell.QueryValue(ctx, "SELECT pg_catalog.pg_get_viewdef(c.oid) || chr(31) || string_agg(pg_catalog.quote_ident(a.attname), ',' ORDER BY a.attnum)"+
			" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"+
			" WHERE c.oid = pg_catalog.to_regclass("+sqlquote.Literal(name)+") AND c.relkind = 'v' GROUP BY c.oid")
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		def, cols, _ := strings.Cut(v, "\x1f")
		def = strings.TrimSuffix(strings.TrimSpace(def), ";")
		if out == nil {
			out = map[*pg_query.RangeVar]string{}
		}
		out[rv] = "(SELECT * FROM (" + def + ") AS distgres_view(" + cols + "))"
	}
	return out, nil
}

// systemRelation: catalog relations that are never views of ours.
func systemRelation(rv *pg_query.RangeVar) bool {
	switch rv.Schemaname {
	case "pg_catalog", "information_schema":
		return true
	}
	return rv.Relpersistence == "t" || strings.HasPrefix(rv.Relname, "pg_")
}

// writeTarget is the table an INSERT, UPDATE or DELETE writes.
func writeTarget(n *pg_query.Node) *pg_query.RangeVar {
	switch x := n.Node.(type) {
	case *pg_query.Node_InsertStmt:
		return x.InsertStmt.Relation
	case *pg_query.Node_UpdateStmt:
		return x.UpdateStmt.Relation
	case *pg_query.Node_DeleteStmt:
		return x.DeleteStmt.Relation
	}
	return nil
}
