package planner

import (
	"context"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planModify plans UPDATE and DELETE: routed to one shard when the WHERE
// clause fixes the distribution column, otherwise run on every shard.
func planModify(ctx context.Context, env *Env, st *Statement, rel *pg_query.RangeVar, where *pg_query.Node, set []*pg_query.Node) (*Plan, error) {
	t := resolve(env, rel)
	if t == nil {
		if len(catalogRefs(env, st.Node)) > 0 {
			return nil, pgerr.Unsupported("Select the rows first, then modify the local table.", "modifying a local table using distributed tables is not supported")
		}
		return planShell(ctx, env, st, true)
	}
	for _, n := range set {
		if n.GetResTarget().GetName() == t.DistColumn && t.DistColumn != "" {
			return planMovingUpdate(ctx, env, st, st.Node.GetUpdateStmt(), t)
		}
	}
	if reads := inlinedReads(env, st.Node, rel); len(reads) > 0 {
		return planInlinedModify(ctx, env, st, t, rel, reads)
	}
	p, desc, shape, err := planWrite(ctx, env, st, t)
	if err != nil || p.Root != nil {
		return p, err
	}
	if k, ok := findKey(where, t, rel, desc.ParamOIDs); ok {
		p.Root, err = routerPlan(env, st.SQL, shape, k, desc.Columns)
		return p, err
	}
	perShard, err := routerTargets(env, st.SQL, shape)
	if err != nil {
		return nil, err
	}
	p.Root = &executor.Gather{Targets: groupByNode(perShard), Cols: desc.Columns}
	p.MultiNodeWrite = true
	return p, nil
}

// groupByNode merges single-statement targets on the same node and
// database into one target, run as one implicit transaction there.
func groupByNode(ts []executor.Target) []executor.Target {
	type k struct {
		id catalog.NodeID
		db string
	}
	idx := map[k]int{}
	var out []executor.Target
	for _, t := range ts {
		key := k{t.Node.ID, t.Database}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, executor.Target{Node: t.Node, Database: t.Database})
		}
		out[i].SQL = append(out[i].SQL, t.SQL...)
	}
	return out
}

// planWrite starts the plan of a write to the distgres table t: PostgreSQL
// describes the statement, writes to a reference table go to all its
// placements (the returned plan has a Root), and a write to a distributed
// table may read reference tables but no other distributed table.
func planWrite(ctx context.Context, env *Env, st *Statement, t *catalog.Table) (*Plan, *Description, *queryShape, error) {
	desc, shape, err := describeShape(ctx, env, st)
	if err != nil {
		return nil, nil, nil, err
	}
	p := &Plan{Kind: KindQuery, ParamOIDs: desc.ParamOIDs, Columns: desc.Columns}
	if t.Method == catalog.MethodReplication {
		p.Root, err = replicatedPlan(env, st.SQL, t, shape, desc.Columns)
		p.MultiNodeWrite = true
		return p, desc, shape, err
	}
	if shape.dist != t {
		return nil, nil, nil, pgerr.Unsupported(hintJoins, "writing a distributed table from another distributed table is not supported yet")
	}
	return p, desc, shape, nil
}
