package planner

import (
	"context"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planInsertSelect plans INSERT INTO t [(columns)] SELECT ...: pushed down
// to the shards between colocated tables (insert_pushdown.go), otherwise
// the SELECT is planned on its own (any tier) and the coordinator routes
// its rows.
func planInsertSelect(ctx context.Context, env *Env, st *Statement, ins *pg_query.InsertStmt, t *catalog.Table, desc *Description) (*Plan, error) {
	if len(ins.ReturningList) > 0 || ins.OnConflictClause != nil {
		return nil, pgerr.Unsupported("Insert the rows first, then read them back; or insert with VALUES.", "INSERT ... SELECT with RETURNING or ON CONFLICT into a distributed table is not supported yet")
	}
	sel := clone(ins.SelectStmt.GetSelectStmt())
	if sel == nil {
		return nil, pgerr.Unsupported("Insert rows with VALUES.", "INSERT ... DEFAULT VALUES into a distributed table is not supported yet")
	}
	if ins.WithClause != nil {
		if sel.WithClause != nil {
			return nil, pgerr.Unsupported("Put the WITH clause on the SELECT.", "INSERT ... SELECT with WITH on both is not supported")
		}
		sel.WithClause = clone(ins.WithClause)
	}
	if p, err := planInsertPushdown(ctx, env, ins, t, sel, desc.ParamOIDs); p != nil || err != nil {
		return p, err
	}
	source, err := planSubstatement(ctx, env, &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}, desc.ParamOIDs, "INSERT ... SELECT")
	if err != nil {
		return nil, err
	}
	names, err := insertColumns(ctx, env, t, ins)
	if err != nil {
		return nil, err
	}
	if len(ins.Cols) == 0 && len(names) > len(source.Columns) {
		names = names[:len(source.Columns)] // the leading columns, as PostgreSQL
	}
	if len(names) != len(source.Columns) {
		return nil, pgerr.New("42601", "INSERT has more target columns than expressions")
	}
	op, err := insertInto(env, t, names, source.Columns)
	if err != nil {
		return nil, err
	}
	op.Source = source.Root
	return &Plan{Kind: KindQuery, ParamOIDs: desc.ParamOIDs, MultiNodeWrite: true, Root: op}, nil
}
