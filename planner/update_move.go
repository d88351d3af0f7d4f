package planner

import (
	"context"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// An UPDATE that assigns the distribution column may move rows to other
// shards. It runs as a DELETE on the shards that returns each deleted
// row as the UPDATE would leave it (the SET expressions evaluated over
// the old row, cast to the column types), and an insert of those rows
// where they now belong. All deletes finish before the first insert, so
// a moved row is never matched again; the statement's (implicit or
// explicit) transaction makes the two halves one.

// planMovingUpdate plans such an UPDATE of the distributed table t.
func planMovingUpdate(ctx context.Context, env *Env, st *Statement, upd *pg_query.UpdateStmt, t *catalog.Table) (*Plan, error) {
	switch {
	case len(upd.ReturningList) > 0:
		return nil, pgerr.Unsupported("Update without RETURNING, then read the rows back.", "UPDATE of the distribution column %q with RETURNING is not supported yet", t.DistColumn)
	case upd.WithClause != nil:
		return nil, pgerr.Unsupported("Move the WITH query into a subquery.", "UPDATE of the distribution column %q with WITH is not supported yet", t.DistColumn)
	}
	desc, err := env.Shell.Describe(ctx, st.SQL, st.ParamOIDs)
	if err != nil {
		return nil, err
	}
	tc, err := tableColumnTypes(ctx, env.Shell, t)
	if err != nil {
		return nil, err
	}
	cols, types := tc.names, tc.types
	assigned := map[string]*pg_query.Node{}
	for _, n := range upd.TargetList {
		rt := n.GetResTarget()
		switch {
		case rt == nil, len(rt.Indirection) > 0, rt.Val.GetMultiAssignRef() != nil, rt.Val.GetSetToDefault() != nil:
			return nil, pgerr.Unsupported("Assign each column a plain expression.", "this form of SET in an UPDATE of the distribution column %q is not supported yet", t.DistColumn)
		}
		assigned[rt.Name] = rt.Val
	}
	qualifier := upd.Relation.Relname
	if upd.Relation.Alias != nil {
		qualifier = upd.Relation.Alias.Aliasname
	}
	del := &pg_query.DeleteStmt{Relation: upd.Relation, UsingClause: upd.FromClause, WhereClause: upd.WhereClause}
	for i, c := range cols {
		val, ok := assigned[c]
		if !ok {
			val = &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
				Fields: []*pg_query.Node{pg_query.MakeStrNode(qualifier), pg_query.MakeStrNode(c)}}}}
		} else {
			cast, err := typeCast(val, types[i])
			if err != nil {
				return nil, err
			}
			val = cast
		}
		del.ReturningList = append(del.ReturningList, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Name: c, Val: val}}})
	}
	source, err := planSubstatement(ctx, env, &pg_query.Node{Node: &pg_query.Node_DeleteStmt{DeleteStmt: del}}, desc.ParamOIDs, "UPDATE of the distribution column")
	if err != nil {
		return nil, err
	}
	op, err := insertInto(env, t, cols, source.Columns)
	if err != nil {
		return nil, err
	}
	op.Source, op.Verb = source.Root, "UPDATE"
	return &Plan{Kind: KindQuery, ParamOIDs: desc.ParamOIDs, MultiNodeWrite: true, Root: op}, nil
}

// insertInto returns an InsertSelect (without its source) that writes
// rows of the named columns, typed as source, to their shards of t.
func insertInto(env *Env, t *catalog.Table, names []string, source []executor.Column) (*executor.InsertSelect, error) {
	quoted := make([]string, len(names))
	dist := -1
	for i, n := range names {
		quoted[i] = sqlquote.Ident(n)
		if n == t.DistColumn {
			dist = i
		}
	}
	list := strings.Join(quoted, ", ")
	op := &executor.InsertSelect{Database: env.ShardDB}
	for _, c := range source {
		op.SourceTypes = append(op.SourceTypes, c.TypeOID)
	}
	for _, sh := range t.Shards {
		op.Prefix = append(op.Prefix, "INSERT INTO "+qualifiedShard(t, sh)+" ("+list+") VALUES ")
		var nodes []catalog.Node
		for _, id := range sh.Placements {
			n, ok := env.Catalog.Node(id)
			if !ok {
				return nil, pgerr.New(pgerr.CannotConnectNow, "shard %d is placed on unknown node %d", sh.ID, id)
			}
			nodes = append(nodes, n)
		}
		op.Nodes = append(op.Nodes, nodes)
	}
	switch t.Method {
	case catalog.MethodReplication:
		op.Choose = func([][]byte) (int, error) { return 0, nil }
	case catalog.MethodRoundRobin:
		rr := &roundRobin{n: len(t.Shards)}
		op.Choose = func([][]byte) (int, error) { return rr.Choose(executor.Params{}) }
	default:
		if dist < 0 {
			return nil, pgerr.Unsupported("List the distribution column in the INSERT.", "INSERT must give a value for the distribution column %q", t.DistColumn)
		}
		op.Choose = func(row [][]byte) (int, error) {
			if row[dist] == nil {
				return 0, nil
			}
			return shardIndex(t, t.DistType, row[dist], executor.TextFormat)
		}
	}
	return op, nil
}

// tableColumns are a table's columns: names, types as SQL type names, and
// type OIDs.
type tableColumns struct {
	names, types []string
	oids         []uint32
}

// tableColumnTypes returns t's columns and their types.
func tableColumnTypes(ctx context.Context, sh Shell, t *catalog.Table) (tableColumns, error) {
	var tc tableColumns
	v, ok, err := sh.QueryValue(ctx, "SELECT string_agg(attname || chr(30) || pg_catalog.format_type(atttypid, atttypmod) || chr(30) || atttypid, chr(31) ORDER BY attnum)"+
		" FROM pg_catalog.pg_attribute WHERE attrelid = "+sqlquote.Literal(qualifiedTable(t))+"::regclass AND attnum > 0 AND NOT attisdropped")
	if err != nil {
		return tc, err
	}
	if !ok {
		return tc, pgerr.New(pgerr.UndefinedTable, "relation %q has no columns", t.Name)
	}
	for _, c := range strings.Split(v, "\x1f") {
		f := strings.Split(c, "\x1e")
		oid, _ := strconv.ParseUint(f[len(f)-1], 10, 32)
		tc.names = append(tc.names, f[0])
		tc.types = append(tc.types, f[1])
		tc.oids = append(tc.oids, uint32(oid))
	}
	return tc, nil
}

// typeCast wraps expr in a cast to the SQL type typ.
func typeCast(expr *pg_query.Node, typ string) (*pg_query.Node, error) {
	n, err := parseOne("SELECT NULL::" + typ)
	if err != nil {
		return nil, err
	}
	tc := n.GetSelectStmt().TargetList[0].GetResTarget().Val.GetTypeCast()
	if tc == nil {
		return nil, pgerr.New(pgerr.InternalError, "cannot cast to type %s", typ)
	}
	return &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{Arg: expr, TypeName: tc.TypeName}}}, nil
}

// planSubstatement plans a statement built from part of another (the
// SELECT of an INSERT ... SELECT, the DELETE of a moving UPDATE), as
// text, the way every statement is planned.
func planSubstatement(ctx context.Context, env *Env, stmt *pg_query.Node, paramOIDs []uint32, what string) (*Plan, error) {
	sql, err := deparse(stmt)
	if err != nil {
		return nil, err
	}
	node, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	p, err := plan(ctx, env, &Statement{SQL: sql, Node: node, ParamOIDs: paramOIDs})
	if err != nil {
		return nil, err
	}
	if p.Kind != KindQuery || p.Root == nil {
		return nil, pgerr.Unsupported("", "this %s is not supported", what)
	}
	return p, nil
}
