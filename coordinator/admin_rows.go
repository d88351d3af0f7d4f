package coordinator

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	"github.com/distgres/distgres/shardmove"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Set-returning admin functions describe the cluster; like
// distgres_cluster() they are replaced by their rows before planning.

// adminColumn is a column of an admin function's rows.
type adminColumn struct{ name, typ string }

// adminRelations are the set-returning admin functions other than
// distgres_cluster().
var adminRelations = map[string]func(ctx context.Context, ss *session, args []string) ([]adminColumn, [][]string, error){
	"distgres_nodes":          nodeRows,
	"distgres_shards":         shardRows,
	"distgres_moves":          moveRows,
	"distgres_rebalance_plan": rebalancePlanRows,
}

// literal renders an optional value: nil is NULL.
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return sqlquote.Literal(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	panic("coordinator: unsupported admin value")
}

// relationFromRows builds (VALUES ...) AS alias(columns), typed by cols,
// as a FROM item.
func relationFromRows(alias *pg_query.Alias, name string, cols []adminColumn, rows [][]string) (*pg_query.Node, error) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = sqlquote.Ident(c.name)
	}
	if alias != nil {
		name = alias.Aliasname
		for i, c := range alias.Colnames {
			if i < len(names) {
				names[i] = sqlquote.Ident(c.GetString_().GetSval())
			}
		}
	}
	typed := func(row []string) string {
		vals := make([]string, len(row))
		for i, v := range row {
			vals[i] = "(" + v + ")::" + cols[i].typ
		}
		return "(" + strings.Join(vals, ", ") + ")"
	}
	var sql string
	if len(rows) == 0 {
		nulls := make([]string, len(cols))
		for i := range nulls {
			nulls[i] = "NULL"
		}
		sql = "SELECT * FROM (SELECT * FROM (VALUES " + typed(nulls) + ") AS v WHERE false) AS " + sqlquote.Ident(name) + "(" + strings.Join(names, ", ") + ")"
	} else {
		vals := make([]string, len(rows))
		for i, r := range rows {
			vals[i] = typed(r)
		}
		sql = "SELECT * FROM (VALUES " + strings.Join(vals, ", ") + ") AS " + sqlquote.Ident(name) + "(" + strings.Join(names, ", ") + ")"
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	return tree.Stmts[0].Stmt.GetSelectStmt().FromClause[0], nil
}

func (ss *session) mover() (*shardmove.Mover, error) {
	if ss.srv.cfg.Mover == nil {
		return nil, pgerr.Unsupported("", "this coordinator does not manage data nodes")
	}
	return ss.srv.cfg.Mover, nil
}

func nodeRows(ctx context.Context, ss *session, _ []string) ([]adminColumn, [][]string, error) {
	mv, err := ss.mover()
	if err != nil {
		return nil, nil, err
	}
	cols := []adminColumn{{"name", "text"}, {"host", "text"}, {"port", "int"}, {"state", "text"}, {"shards", "int"}, {"bytes", "bigint"}, {"reachable", "boolean"}}
	var rows [][]string
	for _, ns := range mv.Sizes(ctx, ss.srv.cfg.Catalog.Snapshot()) {
		var bytes any
		if ns.Bytes >= 0 {
			bytes = ns.Bytes
		}
		rows = append(rows, []string{literal(ns.Node.Name), literal(ns.Node.Host), literal(ns.Node.Port), literal(string(ns.Node.State)),
			literal(ns.Shards), literal(bytes), literal(ns.Bytes >= 0)})
	}
	return cols, rows, nil
}

func nodeNames(snap *catalog.Snapshot, ids []catalog.NodeID) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := snap.Node(id); ok {
			names[i] = n.Name
		} else {
			names[i] = "#" + strconv.Itoa(int(id))
		}
	}
	return strings.Join(names, ",")
}

func shardRows(ctx context.Context, ss *session, _ []string) ([]adminColumn, [][]string, error) {
	mv, err := ss.mover()
	if err != nil {
		return nil, nil, err
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	sizes := make(map[string]int64)
	for _, ns := range mv.Sizes(ctx, snap) {
		for k, v := range ns.TableBytes {
			sizes[strconv.Itoa(int(ns.Node.ID))+"/"+k] = v
		}
	}
	cols := []adminColumn{{"shard_id", "bigint"}, {"table_name", "text"}, {"shard_index", "int"}, {"colocation_id", "bigint"},
		{"min_hash", "int"}, {"max_hash", "int"}, {"nodes", "text"}, {"bytes", "bigint"}}
	var rows [][]string
	for _, t := range snap.Tables() {
		for _, sh := range t.Shards {
			var lo, hi any
			if t.Method == catalog.MethodHash {
				lo, hi = int64(sh.MinHash), int64(sh.MaxHash)
			}
			var bytes any
			if len(sh.Placements) > 0 {
				if b, ok := sizes[strconv.Itoa(int(sh.Placements[0]))+"/"+t.Schema+"."+planner.ShardTableName(t, sh)]; ok {
					bytes = b
				}
			}
			rows = append(rows, []string{literal(sh.ID), literal(t.QualifiedName()), literal(sh.Index), literal(int64(t.ColocationID)),
				literal(lo), literal(hi), literal(nodeNames(snap, sh.Placements)), literal(bytes)})
		}
	}
	return cols, rows, nil
}

func moveRows(ctx context.Context, ss *session, _ []string) ([]adminColumn, [][]string, error) {
	mv, err := ss.mover()
	if err != nil {
		return nil, nil, err
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	progress := make(map[string]shardmove.Progress)
	for _, p := range mv.Running() {
		progress[p.ID] = p
	}
	cols := []adminColumn{{"id", "text"}, {"shards", "text"}, {"source", "text"}, {"target", "text"}, {"state", "text"},
		{"phase", "text"}, {"bytes_total", "bigint"}, {"bytes_done", "bigint"}, {"coordinator", "text"}, {"started", "timestamptz"}}
	var rows [][]string
	for _, m := range snap.Moves() {
		shards := make([]string, len(m.Shards))
		for i, id := range m.Shards {
			shards[i] = strconv.FormatInt(id, 10)
		}
		var phase, total, done any
		if p, ok := progress[m.ID]; ok {
			phase, total, done = p.Phase, p.BytesTotal, p.BytesDone
		}
		rows = append(rows, []string{literal(m.ID), literal(strings.Join(shards, ",")), literal(nodeNames(snap, []catalog.NodeID{m.Source})),
			literal(nodeNames(snap, []catalog.NodeID{m.Target})), literal(string(m.State)), literal(phase), literal(total), literal(done),
			literal(m.Coordinator), literal(time.UnixMilli(m.StartedMillis).UTC().Format("2006-01-02 15:04:05.000Z07:00"))})
	}
	return cols, rows, nil
}

func rebalancePlanRows(ctx context.Context, ss *session, args []string) ([]adminColumn, [][]string, error) {
	mv, err := ss.mover()
	if err != nil {
		return nil, nil, err
	}
	strategy, _, err := strategyArgs(args)
	if err != nil {
		return nil, nil, err
	}
	plan, err := mv.PlanMoves(ctx, strategy)
	if err != nil {
		return nil, nil, err
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	cols := []adminColumn{{"move_order", "int"}, {"shard_id", "bigint"}, {"tables", "text"}, {"source", "text"}, {"target", "text"}, {"bytes", "bigint"}}
	var rows [][]string
	for i, pm := range plan {
		var bytes any
		if strategy == shardmove.BySize {
			bytes = pm.Group.Bytes
		}
		rows = append(rows, []string{literal(i + 1), literal(pm.Group.ShardIDs[0]), literal(strings.Join(slices.Clone(pm.Group.Tables), ",")),
			literal(nodeNames(snap, []catalog.NodeID{pm.Source})), literal(nodeNames(snap, []catalog.NodeID{pm.Target})), literal(bytes)})
	}
	return cols, rows, nil
}
