package planner

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// maxViewDepth bounds the expansion of views defined on views.
const maxViewDepth = 16

// expandViews replaces references to views (kept in the shell databases)
// with their definitions as subqueries, so that the planner sees the
// distributed tables the views read. PostgreSQL itself would read the empty
// logical tables. A write whose target is a view becomes, one view level at
// a time, a write of the view's base relation (views_write.go), after
// PostgreSQL has checked it against the view on the shell database.
func expandViews(ctx context.Context, env *Env, st *Statement) (*Statement, error) {
	var returning []string // the result column names of a write through a view
	described := false
	for depth := 0; ; depth++ {
		views, err := findViews(ctx, env, st.Node)
		if err != nil || len(views) == 0 {
			return st, err
		}
		if depth == maxViewDepth {
			return nil, pgerr.Unsupported("Define the view on tables.", "views nested more than %d deep are not supported", maxViewDepth)
		}
		if target := writeTarget(st.Node); target != nil {
			if v, ok := views[target]; ok {
				if !described {
					// PostgreSQL checks that the view is updatable, and
					// the statement against it, with its own errors.
					d, err := env.Shell.Describe(ctx, st.SQL, st.ParamOIDs)
					if err != nil {
						return nil, err
					}
					for _, c := range d.Columns {
						returning = append(returning, c.Name)
					}
					described = true
				}
				if st, err = writeThroughView(ctx, env, st, v, returning); err != nil {
					return nil, err
				}
				continue
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
			return views[rv].subquery(), true
		})
		node, err := parseOne(sql)
		if err != nil {
			return nil, err
		}
		st = &Statement{SQL: sql, Node: node, ParamOIDs: st.ParamOIDs, Distribute: st.Distribute}
	}
}

// viewDef is what a shell database says about a view.
type viewDef struct {
	name string   // the view's name, for messages
	def  string   // its query, as pg_get_viewdef prints it
	cols []string // its column names, in order
	// checkOption is "local" or "cascaded" for a view WITH CHECK OPTION.
	checkOption     string
	securityBarrier bool
	// triggers, rules and defaults count the view's triggers, its rules
	// other than the one that makes it a view, and its column defaults.
	triggers, rules, defaults int
}

// subquery is the text that replaces a reference to the view in a query.
func (v *viewDef) subquery() string {
	cols := make([]string, len(v.cols))
	for i, c := range v.cols {
		cols[i] = sqlquote.Ident(c)
	}
	return "(SELECT * FROM (" + v.def + ") AS distgres_view(" + strings.Join(cols, ",") + "))"
}

// viewQuery asks a shell database about the view named by a literal; its
// answer is the fields of viewDef separated by chr(31), the column names
// by chr(30).
const viewQuery = "SELECT pg_catalog.pg_get_viewdef(c.oid)" +
	" || chr(31) || string_agg(a.attname, chr(30) ORDER BY a.attnum)" +
	" || chr(31) || coalesce((SELECT o.option_value FROM pg_catalog.pg_options_to_table(c.reloptions) o WHERE o.option_name = 'check_option'), '')" +
	" || chr(31) || coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o WHERE o.option_name = 'security_barrier'), false)" +
	" || chr(31) || (SELECT count(*) FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid)" +
	" || chr(31) || (SELECT count(*) FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN')" +
	" || chr(31) || (SELECT count(*) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = c.oid)" +
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped" +
	" WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind = 'v' GROUP BY c.oid"

// findViews returns the view references of a statement with what the
// shell says about each view.
func findViews(ctx context.Context, env *Env, n *pg_query.Node) (map[*pg_query.RangeVar]*viewDef, error) {
	var out map[*pg_query.RangeVar]*viewDef
	for _, rv := range rangeVars(n) {
		if resolve(env, rv) != nil || systemRelation(rv) {
			continue
		}
		name := sqlquote.Ident(rv.Relname)
		if rv.Schemaname != "" {
			name = sqlquote.Ident(rv.Schemaname) + "." + name
		}
		v, ok, err := env.Shell.QueryValue(ctx, fmt.Sprintf(viewQuery, sqlquote.Literal(name)))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		f := strings.Split(v, "\x1f")
		if len(f) != 7 {
			return nil, fmt.Errorf("planner: unexpected description of view %s", name)
		}
		d := &viewDef{
			name:            rv.Relname,
			def:             strings.TrimSuffix(strings.TrimSpace(f[0]), ";"),
			cols:            strings.Split(f[1], "\x1e"),
			checkOption:     f[2],
			securityBarrier: f[3] == "true",
		}
		d.triggers, _ = strconv.Atoi(f[4])
		d.rules, _ = strconv.Atoi(f[5])
		d.defaults, _ = strconv.Atoi(f[6])
		if out == nil {
			out = map[*pg_query.RangeVar]*viewDef{}
		}
		out[rv] = d
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
