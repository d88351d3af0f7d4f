package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// INSERT INTO t SELECT ... FROM s pushes down between colocated tables:
// when the value inserted into t's distribution column is s's
// distribution column and the SELECT works row by row (no aggregation,
// DISTINCT, LIMIT, window or set operation), a row read from shard i of s
// belongs in shard i of t, so each shard runs INSERT INTO t_i SELECT ...
// FROM s_i and no row passes through the coordinator.

// planInsertPushdown returns the pushed-down plan, or nil when the
// statement does not qualify.
func planInsertPushdown(ctx context.Context, env *Env, ins *pg_query.InsertStmt, t *catalog.Table, sel *pg_query.SelectStmt, paramOIDs []uint32) (*Plan, error) {
	if t.Method != catalog.MethodHash && t.Method != catalog.MethodModulo {
		return nil, nil
	}
	if sel.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED && sel.Op != pg_query.SetOperation_SETOP_NONE ||
		sel.WithClause != nil || len(sel.DistinctClause) > 0 || len(sel.GroupClause) > 0 || sel.HavingClause != nil ||
		sel.LimitCount != nil || sel.LimitOffset != nil || len(sel.LockingClause) > 0 || len(sel.ValuesLists) > 0 {
		return nil, nil
	}
	selNode := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}
	if containsAggregate(selNode) || containsWindow(selNode) {
		return nil, nil
	}
	sql, err := deparse(selNode)
	if err != nil {
		return nil, err
	}
	node, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	psel := node.GetSelectStmt()
	shape, err := classify(env, node)
	if err != nil || shape.dist == nil || !sameShards(t, shape.dist) || hasStar(psel) {
		return nil, nil
	}
	names, err := insertColumns(ctx, env, t, ins)
	if err != nil {
		return nil, err
	}
	if len(names) > len(psel.TargetList) {
		names = names[:len(psel.TargetList)]
	}
	if len(names) != len(psel.TargetList) {
		return nil, nil // the ordinary path reports the error
	}
	keyed := false
	for i, n := range names {
		if n != t.DistColumn {
			continue
		}
		v := psel.TargetList[i].GetResTarget().GetVal()
		for _, r := range shape.refs {
			if r.table != nil && sameShards(r.table, shape.dist) && fromContains(psel.FromClause, r.rv) && isDistColumn(v, r.table, r.rv) &&
				(len(v.GetColumnRef().GetFields()) == 2 || countDistributed(shape) == 1) {
				keyed = true
			}
		}
	}
	if !keyed {
		return nil, nil
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = sqlquote.Ident(n)
	}
	tpl, err := newTemplate(sql, catalogRangeVars(shape.refs))
	if err != nil {
		return nil, err
	}
	targets := make([]executor.Target, len(t.Shards))
	for i, sh := range t.Shards {
		n, err := placementNode(env, sh)
		if err != nil {
			return nil, err
		}
		targets[i] = executor.Target{Node: n, Database: env.ShardDB, SQL: []string{
			"INSERT INTO " + qualifiedShard(t, sh) + " (" + strings.Join(quoted, ", ") + ") " + renderFor(env, tpl, shardNamer(shape.dist, i))}}
	}
	return &Plan{Kind: KindQuery, ParamOIDs: paramOIDs, MultiNodeWrite: true, Root: &executor.Gather{Targets: groupByNode(targets)}}, nil
}

// countDistributed counts the references to distributed tables.
func countDistributed(shape *queryShape) int {
	n := 0
	for _, r := range shape.refs {
		if r.table != nil && r.table.Method != catalog.MethodReplication {
			n++
		}
	}
	return n
}
