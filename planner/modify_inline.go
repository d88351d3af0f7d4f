package planner

import (
	"context"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// inlinedReads returns the references of a write statement that read
// distributed tables other than through its target rel: other tables in
// FROM/USING or subqueries, and the target table itself in a subquery.
func inlinedReads(env *Env, n *pg_query.Node, rel *pg_query.RangeVar) []tableRef {
	var out []tableRef
	for _, r := range resolveAll(env, n) {
		if r.table != nil && r.rv != rel && r.table.Method != catalog.MethodReplication {
			out = append(out, r)
		}
	}
	return out
}

// planInlinedModify plans an UPDATE or DELETE of t that reads other
// distributed tables (recursive planning): at execution those tables are
// read in full and put into the statement as row sources, and every
// shard of t runs the statement against the same, whole inputs, taken
// before any shard writes (as PostgreSQL's statement snapshot would).
func planInlinedModify(ctx context.Context, env *Env, st *Statement, t *catalog.Table, rel *pg_query.RangeVar, reads []tableRef) (*Plan, error) {
	desc, err := env.Shell.Describe(ctx, st.SQL, st.ParamOIDs)
	if err != nil {
		return nil, err
	}
	if t.Method == catalog.MethodReplication && len(desc.Columns) > 0 {
		return nil, pgerr.Unsupported("Write without RETURNING, then read the rows back.", "RETURNING from a write of a reference table that reads distributed tables is not supported yet")
	}
	index := map[*catalog.Table]int{}
	op := &executor.Inline{Cols: desc.Columns, Replicated: t.Method == catalog.MethodReplication}
	for _, r := range reads {
		if _, ok := index[r.table]; ok {
			continue
		}
		tc, err := tableColumnTypes(ctx, env.Shell, r.table)
		if err != nil {
			return nil, err
		}
		names, types := tc.names, tc.types
		for i, n := range names {
			names[i] = sqlquote.Ident(n)
		}
		sources, err := tableSources(env, r.table, scanAll)
		if err != nil {
			return nil, err
		}
		index[r.table] = len(op.Tables)
		op.Tables = append(op.Tables, executor.InlineTable{Sources: sources, Names: names, Types: types})
	}
	var rvs []*pg_query.RangeVar
	for _, r := range resolveAll(env, st.Node) {
		if r.table != nil {
			rvs = append(rvs, r.rv)
		}
	}
	tpl, err := newTemplate(st.SQL, rvs)
	if err != nil {
		return nil, err
	}
	inlined := map[*pg_query.RangeVar]*catalog.Table{}
	for _, r := range reads {
		inlined[r.rv] = r.table
	}
	render := func(sources []string, shard int) string {
		return tpl.render(func(rv *pg_query.RangeVar) (string, bool) {
			if it, ok := inlined[rv]; ok {
				return sources[index[it]], true
			}
			rt := resolve(env, rv)
			if rv == rel && t.Method != catalog.MethodReplication {
				return qualifiedShard(t, t.Shards[shard]), true
			}
			return qualifiedShard(rt, rt.Shards[0]), true
		})
	}
	op.Build = func(sources []string) ([]executor.Target, error) {
		if t.Method == catalog.MethodReplication {
			var ts []executor.Target
			for _, id := range t.Shards[0].Placements {
				n, ok := env.Catalog.Node(id)
				if !ok {
					return nil, pgerr.New(pgerr.CannotConnectNow, "reference table %s is placed on unknown node %d", t.Name, id)
				}
				ts = append(ts, executor.Target{Node: n, Database: env.ShardDB, SQL: []string{render(sources, 0)}})
			}
			return ts, nil
		}
		ts := make([]executor.Target, len(t.Shards))
		for i, sh := range t.Shards {
			n, err := placementNode(env, sh)
			if err != nil {
				return nil, err
			}
			ts[i] = executor.Target{Node: n, Database: env.ShardDB, SQL: []string{render(sources, i)}}
		}
		return groupByNode(ts), nil
	}
	return &Plan{Kind: KindQuery, ParamOIDs: desc.ParamOIDs, Columns: desc.Columns, MultiNodeWrite: true, Root: op}, nil
}
