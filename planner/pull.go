package planner

import (
	"context"
	"errors"
	"github.com/distgres/distgres/sqlquote"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// pullable says whether an error of the pushdown tiers lets the statement
// fall back to pulling its tables to one node.
func pullable(err error) bool {
	var pe *pgerr.Error
	return errors.As(err, &pe) && pe.Code == pgerr.FeatureNotSupported
}

// planPull plans a query that the router and merge tiers cannot split:
// every distgres table it reads is copied into a temporary table on one
// node's shell database, and the statement runs there unchanged but for
// the table names. This is recursive planning at its simplest (whole
// tables as intermediate results): PostgreSQL's own semantics for joins,
// subqueries, window functions, HAVING and any expression, at the cost of
// moving the tables, which distgres.max_intermediate_result_size bounds.
func planPull(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	refs := resolveAll(env, st.Node)
	narrow, err := narrowPulls(ctx, env, st.Node, refs)
	if err != nil {
		return nil, err
	}
	return pullNarrowed(env, st, sel, desc, refs, narrow)
}

// pullNarrowed is planPull with the statement's table references and their
// narrowing known (a broadcast plan's fallback reuses its own).
func pullNarrowed(env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description, refs []tableRef, narrow map[*catalog.Table]*pullNarrowing) (executor.Operator, error) {
	if len(sel.LockingClause) > 0 {
		return nil, pgerr.Unsupported("Fix the distribution column to one value to lock rows.", "SELECT ... FOR UPDATE/SHARE over several shards is not supported")
	}
	node, err := shellNode(env)
	if err != nil {
		return nil, err
	}
	temps := map[*catalog.Table]string{}
	op := &executor.Pull{Node: node, Database: env.ShellDB, Cols: desc.Columns}
	var rvs []*pg_query.RangeVar
	for _, r := range refs {
		if r.table == nil {
			continue
		}
		rvs = append(rvs, r.rv)
		if _, ok := temps[r.table]; ok {
			continue
		}
		name := "distgres_pull_" + r.table.Schema + "_" + r.table.Name
		if len(name) > maxIdentLen {
			name = name[:maxIdentLen]
		}
		temp := "pg_temp." + sqlquote.Ident(name)
		temps[r.table] = temp
		scan := scanAll
		if n := narrow[r.table]; n != nil {
			scan = n.narrowedScan
		}
		sources, err := tableSources(env, r.table, scan)
		if err != nil {
			return nil, err
		}
		op.Tables = append(op.Tables, executor.PullTable{Temp: temp, Like: qualifiedTable(r.table), Sources: sources, UsesParams: narrow[r.table].usesParams()})
	}
	tpl, err := newTemplate(st.SQL, rvs)
	if err != nil {
		return nil, err
	}
	op.SQL = tpl.render(func(rv *pg_query.RangeVar) (string, bool) {
		return temps[resolve(env, rv)], true
	})
	return op, nil
}

// tableSources are statements that together return every row of a table
// once (as scan reads a shard): one per node over the union of its shards,
// or one placement of a reference table.
func tableSources(env *Env, t *catalog.Table, scan func(shard string) (string, error)) ([]executor.Target, error) {
	if t.Method == catalog.MethodReplication {
		node, err := placementNode(env, t.Shards[0])
		if err != nil {
			return nil, err
		}
		sql, err := scan(qualifiedShard(t, t.Shards[0]))
		if err != nil {
			return nil, err
		}
		return []executor.Target{{Node: node, Database: env.ShardDB, SQL: []string{sql}}}, nil
	}
	byNode := map[catalog.NodeID][]string{}
	var order []catalog.Node
	for _, sh := range t.Shards {
		node, err := placementNode(env, sh)
		if err != nil {
			return nil, err
		}
		if byNode[node.ID] == nil {
			order = append(order, node)
		}
		sql, err := scan(qualifiedShard(t, sh))
		if err != nil {
			return nil, err
		}
		byNode[node.ID] = append(byNode[node.ID], sql)
	}
	var out []executor.Target
	for _, n := range order {
		out = append(out, executor.Target{Node: n, Database: env.ShardDB, SQL: []string{strings.Join(byNode[n.ID], " UNION ALL ")}})
	}
	return out, nil
}

// scanAll reads every row and column of a shard.
func scanAll(shard string) (string, error) { return "SELECT * FROM " + shard, nil }
