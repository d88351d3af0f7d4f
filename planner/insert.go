package planner

import (
	"context"
	"sync/atomic"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

func planInsert(ctx context.Context, env *Env, st *Statement, ins *pg_query.InsertStmt) (*Plan, error) {
	t := resolve(env, ins.Relation)
	if t == nil {
		if len(catalogRefs(env, st.Node)) > 0 {
			return nil, pgerr.Unsupported("Select the rows first, then insert them with VALUES.", "INSERT into a local table from distributed tables is not supported")
		}
		return planShell(ctx, env, st, true)
	}
	if sel := ins.SelectStmt.GetSelectStmt(); sel != nil && len(sel.ValuesLists) == 0 {
		desc, err := env.Shell.Describe(ctx, st.SQL, st.ParamOIDs)
		if err != nil {
			return nil, err
		}
		return planInsertSelect(ctx, env, st, ins, t, desc)
	}
	p, desc, shape, err := planWrite(ctx, env, st, t)
	if err != nil || p.Root != nil {
		return p, err
	}
	if oc := ins.OnConflictClause; oc != nil {
		for _, n := range oc.TargetList {
			if n.GetResTarget().GetName() == t.DistColumn {
				return nil, pgerr.Unsupported("Delete the row and insert it again.", "modifying the distribution column %q is not supported", t.DistColumn)
			}
		}
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) == 0 {
		return planInsertSelect(ctx, env, st, ins, t, desc)
	}
	col := -1
	if t.Method != catalog.MethodRoundRobin {
		if col, err = distColumnIndex(ctx, env, t, ins); err != nil {
			return nil, err
		}
	}
	choosers := make([]executor.ShardChooser, len(sel.ValuesLists))
	var rr *roundRobin
	for i, row := range sel.ValuesLists {
		if t.Method == catalog.MethodRoundRobin {
			if rr == nil {
				rr = &roundRobin{n: len(t.Shards)}
			}
			choosers[i] = rr
			continue
		}
		items := row.GetList().GetItems()
		if col >= len(items) {
			return nil, pgerr.Unsupported("List the distribution column in the INSERT with a constant or a parameter.", "INSERT must give a value for the distribution column %q", t.DistColumn)
		}
		k, ok := constKey(items[col], t, desc.ParamOIDs)
		if !ok {
			return nil, pgerr.Unsupported("Give the distribution column a constant or a parameter.", "the value of distribution column %q must be a constant or a parameter", t.DistColumn)
		}
		if k.param > 0 {
			choosers[i] = &paramChooser{param: k.param, typ: k.valType, table: t}
			continue
		}
		idx, err := keyShard(t, k)
		if err != nil {
			return nil, err
		}
		choosers[i] = executor.FixedShard(idx)
	}
	if len(choosers) == 1 && rr == nil {
		targets, err := routerTargets(env, st.SQL, shape)
		if err != nil {
			return nil, err
		}
		if f, ok := choosers[0].(executor.FixedShard); ok {
			p.Root = &executor.Route{Targets: targets[f : f+1], Cols: desc.Columns}
		} else {
			p.Root = &executor.Route{Targets: targets, Chooser: choosers[0], Cols: desc.Columns}
		}
		return p, nil
	}
	p.Root, err = insertSplit(env, st.SQL, ins, t, choosers, desc.Columns)
	p.MultiNodeWrite = true
	return p, err
}

// distColumnIndex is the position of the distribution column among the
// INSERT's columns.
func distColumnIndex(ctx context.Context, env *Env, t *catalog.Table, ins *pg_query.InsertStmt) (int, error) {
	names, err := insertColumns(ctx, env, t, ins)
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		if n == t.DistColumn {
			return i, nil
		}
	}
	return 0, pgerr.Unsupported("Give the distribution column a value in the INSERT.", "INSERT must give a value for the distribution column %q", t.DistColumn)
}

// insertColumns are the columns an INSERT writes: its column list, or the
// table's columns in order.
func insertColumns(ctx context.Context, env *Env, t *catalog.Table, ins *pg_query.InsertStmt) ([]string, error) {
	var names []string
	if len(ins.Cols) > 0 {
		for _, c := range ins.Cols {
			names = append(names, c.GetResTarget().GetName())
		}
		return names, nil
	}
	d, err := env.Shell.Describe(ctx, "SELECT * FROM "+qualifiedTable(t), nil)
	if err != nil {
		return nil, err
	}
	for _, c := range d.Columns {
		names = append(names, c.Name)
	}
	return names, nil
}

// roundRobin spreads rows over shards in turn.
type roundRobin struct {
	n    int
	next atomic.Uint64
}

func (r *roundRobin) Choose(executor.Params) (int, error) {
	return int((r.next.Add(1) - 1) % uint64(r.n)), nil
}

func (r *roundRobin) String() string { return "round robin" }

// insertSplit cuts the VALUES rows out of the text so that each shard gets
// a statement with its own rows.
func insertSplit(env *Env, sql string, ins *pg_query.InsertStmt, t *catalog.Table, choosers []executor.ShardChooser, cols []executor.Column) (executor.Operator, error) {
	rows, vs, ve, err := valuesRows(sql, int(ins.Relation.Location))
	if err != nil {
		return nil, err
	}
	if len(rows) != len(choosers) {
		return nil, pgerr.Unsupported("Insert the rows one statement at a time.", "could not split the VALUES list of this INSERT")
	}
	const marker = "\x00"
	text := sql[:vs] + marker + sql[ve:]
	shift := int32(len(marker) - (ve - vs))
	var refs []*pg_query.RangeVar
	for _, rv := range catalogRangeVars(resolveAll(env, &pg_query.Node{Node: &pg_query.Node_InsertStmt{InsertStmt: ins}})) {
		if int(rv.Location) >= vs && int(rv.Location) < ve {
			return nil, pgerr.Unsupported("Compute the value first, or insert that row in a statement of its own.", "subqueries on tables in a multi-row VALUES list are not supported yet")
		}
		if int(rv.Location) >= ve {
			rv = proto.Clone(rv).(*pg_query.RangeVar)
			rv.Location += shift
		}
		refs = append(refs, rv)
	}
	tpl, err := newTemplate(text, refs)
	if err != nil {
		return nil, err
	}
	op := &executor.InsertSplit{Database: env.ShardDB, Cols: cols}
	for i, sh := range t.Shards {
		node, err := placementNode(env, sh)
		if err != nil {
			return nil, err
		}
		full := renderFor(env, tpl, shardNamer(t, i))
		cut := indexByte(full, 0)
		op.Prefix = append(op.Prefix, full[:cut])
		op.Suffix = append(op.Suffix, full[cut+1:])
		op.Nodes = append(op.Nodes, node)
	}
	for i, r := range rows {
		op.Rows = append(op.Rows, executor.InsertRow{Text: sql[r.start:r.end], Chooser: choosers[i]})
	}
	return op, nil
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// valuesRows finds the parenthesised rows of the VALUES list after from,
// and the span they cover.
func valuesRows(sql string, from int) ([]span, int, int, error) {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return nil, 0, 0, err
	}
	toks := scan.Tokens
	i := 0
	for i < len(toks) && (int(toks[i].Start) < from || toks[i].Token != pg_query.Token_VALUES) {
		i++
	}
	if i == len(toks) {
		return nil, 0, 0, pgerr.Unsupported("Insert the rows with INSERT ... VALUES (...).", "could not find the VALUES list of this INSERT")
	}
	var rows []span
	i++
	for i < len(toks) && toks[i].Token == pg_query.Token_ASCII_40 {
		start := int(toks[i].Start)
		depth := 0
		for ; i < len(toks); i++ {
			switch toks[i].Token {
			case pg_query.Token_ASCII_40:
				depth++
			case pg_query.Token_ASCII_41:
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i == len(toks) {
			break
		}
		rows = append(rows, span{start, int(toks[i].End)})
		i++
		if i < len(toks) && toks[i].Token == pg_query.Token_ASCII_44 {
			i++
			continue
		}
		break
	}
	if len(rows) == 0 {
		return nil, 0, 0, pgerr.Unsupported("Insert the rows with INSERT ... VALUES (...).", "could not find the VALUES rows of this INSERT")
	}
	return rows, rows[0].start, rows[len(rows)-1].end, nil
}

// replicatedPlan runs a write on every placement of a reference table t.
// It may read other reference tables (every node has them), not
// distributed ones.
func replicatedPlan(env *Env, sql string, t *catalog.Table, shape *queryShape, cols []executor.Column) (executor.Operator, error) {
	if shape.dist != nil {
		return nil, pgerr.Unsupported("Read the distributed table in a separate statement, then write the reference table.", "writing a reference table from a distributed table is not supported yet")
	}
	tpl, err := newTemplate(sql, catalogRangeVars(shape.refs))
	if err != nil {
		return nil, err
	}
	text := renderFor(env, tpl, shardNamer(nil, 0))
	var targets []executor.Target
	for _, id := range t.Shards[0].Placements {
		n, ok := env.Catalog.Node(id)
		if !ok {
			return nil, pgerr.New(pgerr.CannotConnectNow, "reference table %s is placed on unknown node %d", t.Name, id)
		}
		targets = append(targets, executor.Target{Node: n, Database: env.ShardDB, SQL: []string{text}})
	}
	if len(targets) == 0 {
		return nil, pgerr.New(pgerr.CannotConnectNow, "reference table %s has no placements", t.Name)
	}
	return &executor.Gather{Targets: targets, Cols: cols, Replicated: true}, nil
}
