package planner

import (
	"context"
	"fmt"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Build plans one statement.
func Build(ctx context.Context, env *Env, st *Statement) (*Plan, error) {
	env.sortsAsC = map[*pg_query.Node]bool{}
	p, err := plan(ctx, env, st)
	if err != nil {
		return nil, err
	}
	p.CatalogVersion = env.Catalog.SchemaVersion()
	stmt := st.Node
	if ex := stmt.GetExplainStmt(); ex != nil && explainAnalyzes(ex) {
		stmt = ex.Query // EXPLAIN ANALYZE runs the statement
	}
	if written := writeTarget(stmt); written != nil {
		p.Writes = true
		if t := resolve(env, written); t != nil {
			p.WriteColocation = t.ColocationID
		}
	}
	return p, nil
}

func plan(ctx context.Context, env *Env, st *Statement) (*Plan, error) {
	switch st.Node.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		expanded, err := expandViews(ctx, env, st)
		if err != nil {
			return nil, err
		}
		st = expanded
	}
	switch n := st.Node.Node.(type) {
	case *pg_query.Node_SelectStmt:
		return planSelect(ctx, env, st, n.SelectStmt)
	case *pg_query.Node_InsertStmt:
		return planInsert(ctx, env, st, n.InsertStmt)
	case *pg_query.Node_UpdateStmt:
		return planModify(ctx, env, st, n.UpdateStmt.Relation, n.UpdateStmt.WhereClause, n.UpdateStmt.TargetList)
	case *pg_query.Node_DeleteStmt:
		return planModify(ctx, env, st, n.DeleteStmt.Relation, n.DeleteStmt.WhereClause, nil)
	case *pg_query.Node_CreateStmt:
		return planCreateTable(ctx, env, st, n.CreateStmt)
	case *pg_query.Node_DropStmt:
		return planDrop(ctx, env, st, n.DropStmt)
	case *pg_query.Node_TruncateStmt:
		return planTruncate(env, st, n.TruncateStmt)
	case *pg_query.Node_IndexStmt:
		return planCreateIndex(env, st, n.IndexStmt)
	case *pg_query.Node_AlterTableStmt:
		return planAlterTable(ctx, env, st, n.AlterTableStmt)
	case *pg_query.Node_RenameStmt:
		return planRename(env, st, n.RenameStmt)
	case *pg_query.Node_VariableShowStmt:
		return planShell(ctx, env, st, true)
	case *pg_query.Node_ExplainStmt:
		return planExplain(ctx, env, st, n.ExplainStmt)
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt:
		return nil, pgerr.Unsupported("A distgres cluster serves one database; use schemas to separate applications.", "CREATE DATABASE and DROP DATABASE are not supported through the coordinator yet")
	case *pg_query.Node_CopyStmt:
		return planCopy(ctx, env, st, n.CopyStmt)
	case *pg_query.Node_VacuumStmt:
		return planVacuum(env, st, n.VacuumStmt)
	case *pg_query.Node_ViewStmt:
		// Views live in the shell databases; queries expand them.
		return planBroadcast(env, st)
	case *pg_query.Node_CreateTableAsStmt, *pg_query.Node_CreateTrigStmt,
		*pg_query.Node_RuleStmt, *pg_query.Node_CreatePolicyStmt, *pg_query.Node_CreateStatsStmt,
		*pg_query.Node_RefreshMatViewStmt:
		if refs := catalogRefs(env, st.Node); len(refs) > 0 || isTableAs(st.Node) {
			return nil, pgerr.Unsupported("Run it on a table that is not distributed, or query the distributed table directly.", "%s is not supported on distributed tables yet", statementName(st.Node))
		}
		return planBroadcast(env, st)
	default:
		if refs := catalogRefs(env, st.Node); len(refs) > 0 {
			return nil, pgerr.Unsupported("Apply it to a table that is not distributed.", "%s on distributed tables is not supported yet", statementName(st.Node))
		}
		return planBroadcast(env, st)
	}
}

func isTableAs(n *pg_query.Node) bool {
	_, ok := n.Node.(*pg_query.Node_CreateTableAsStmt)
	return ok
}

// statementName is a human name of the statement kind for messages.
func statementName(n *pg_query.Node) string {
	name := fmt.Sprintf("%T", n.Node)
	const prefix = "*pg_query.Node_"
	if len(name) > len(prefix) {
		name = name[len(prefix):]
	}
	return name
}

// tableRef is a table reference resolved against the catalog.
type tableRef struct {
	rv    *pg_query.RangeVar
	table *catalog.Table // nil: not a distgres table (pg_catalog etc.)
}

// resolve looks a RangeVar up in the catalog, with the default search path
// (a table a broadcast plan ships resolves to its stand-in).
func resolve(env *Env, rv *pg_query.RangeVar) *catalog.Table {
	if rv.Schemaname == standInSchema && env.shipped != nil {
		// A subquery planned on its own (see planRecursive).
		if s, ok := env.shipped[rv.Schemaname+"."+rv.Relname]; ok {
			return s
		}
	}
	t := lookupTable(env, rv)
	if t != nil && env.shipped != nil {
		if s, ok := env.shipped[t.Schema+"."+t.Name]; ok {
			return s
		}
	}
	return t
}

func lookupTable(env *Env, rv *pg_query.RangeVar) *catalog.Table {
	if rv.Schemaname != "" {
		t, _ := env.Catalog.Table(rv.Schemaname, rv.Relname)
		return t
	}
	if rv.Relpersistence == "t" {
		return nil
	}
	t, _ := env.Catalog.Table("public", rv.Relname)
	return t
}

// resolveAll resolves every table reference of a statement.
func resolveAll(env *Env, n *pg_query.Node) []tableRef {
	var refs []tableRef
	for _, rv := range rangeVars(n) {
		refs = append(refs, tableRef{rv: rv, table: resolve(env, rv)})
	}
	return refs
}

// catalogRefs returns the references to distgres tables.
func catalogRefs(env *Env, n *pg_query.Node) []tableRef {
	var out []tableRef
	for _, r := range resolveAll(env, n) {
		if r.table != nil {
			out = append(out, r)
		}
	}
	return out
}

// shellNode is the node whose shell database answers statements that touch
// no distributed table.
func shellNode(env *Env) (catalog.Node, error) {
	nodes := env.Catalog.ActiveNodes()
	if len(nodes) == 0 {
		return catalog.Node{}, pgerr.New(pgerr.CannotConnectNow, "no data nodes are available").WithHint("Add a data node with distgresctl node add.")
	}
	return nodes[0], nil
}

// planShell sends the statement unchanged to a shell database: queries on
// no table, on pg_catalog and information_schema.
func planShell(ctx context.Context, env *Env, st *Statement, describe bool) (*Plan, error) {
	node, err := shellNode(env)
	if err != nil {
		return nil, err
	}
	p := &Plan{Kind: KindQuery, ParamOIDs: st.ParamOIDs}
	if describe {
		d, err := env.Shell.Describe(ctx, st.SQL, st.ParamOIDs)
		if err != nil {
			return nil, err
		}
		p.ParamOIDs, p.Columns = d.ParamOIDs, d.Columns
	}
	p.Root = &executor.Route{Targets: []executor.Target{{Node: node, Database: env.ShellDB, SQL: []string{st.SQL}}}, Cols: p.Columns}
	return p, nil
}

// planBroadcast runs a utility statement on both databases of every node
// (types, functions, schemas and the like must exist wherever tables do).
func planBroadcast(env *Env, st *Statement) (*Plan, error) {
	if len(env.Catalog.Nodes()) == 0 {
		return nil, pgerr.New(pgerr.CannotConnectNow, "no data nodes are available")
	}
	shards := shardsNeed(st.Node)
	sql := st.SQL
	return &Plan{Kind: KindDDL, DDL: &DDL{
		NoTransaction: true,
		Work: func(snap *catalog.Snapshot) ([]executor.Target, error) {
			var ts []executor.Target
			for _, n := range snap.Nodes() {
				ts = append(ts, executor.Target{Node: n, Database: env.ShellDB, SQL: []string{sql}})
				if shards {
					ts = append(ts, executor.Target{Node: n, Database: env.ShardDB, SQL: []string{sql}})
				}
			}
			return ts, nil
		},
	}}, nil
}

// shardsNeed says whether a utility statement must also run in the shard
// databases: objects that shard tables and the fragments sent to them use
// (schemas, types, domains, functions, extensions, sequences, operators).
// Everything else (roles, comments, grants, DO blocks...) runs in the
// shell databases only; roles are per server anyway.
func shardsNeed(n *pg_query.Node) bool {
	switch x := n.Node.(type) {
	case *pg_query.Node_CreateSchemaStmt, *pg_query.Node_CompositeTypeStmt, *pg_query.Node_CreateEnumStmt,
		*pg_query.Node_CreateRangeStmt, *pg_query.Node_AlterEnumStmt, *pg_query.Node_CreateDomainStmt,
		*pg_query.Node_AlterDomainStmt, *pg_query.Node_CreateFunctionStmt, *pg_query.Node_AlterFunctionStmt,
		*pg_query.Node_CreateExtensionStmt, *pg_query.Node_AlterExtensionStmt, *pg_query.Node_AlterExtensionContentsStmt,
		*pg_query.Node_DefineStmt, *pg_query.Node_CreateCastStmt, *pg_query.Node_CreateConversionStmt,
		*pg_query.Node_CreateSeqStmt, *pg_query.Node_AlterSeqStmt, *pg_query.Node_CreateOpClassStmt,
		*pg_query.Node_CreateOpFamilyStmt, *pg_query.Node_AlterOpFamilyStmt, *pg_query.Node_AlterObjectSchemaStmt,
		*pg_query.Node_AlterOwnerStmt:
		return true
	case *pg_query.Node_DropStmt:
		switch x.DropStmt.RemoveType {
		case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_VIEW,
			pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
			return false
		}
		return true
	case *pg_query.Node_RenameStmt:
		switch x.RenameStmt.RenameType {
		case pg_query.ObjectType_OBJECT_SCHEMA, pg_query.ObjectType_OBJECT_TYPE, pg_query.ObjectType_OBJECT_DOMAIN,
			pg_query.ObjectType_OBJECT_FUNCTION, pg_query.ObjectType_OBJECT_PROCEDURE, pg_query.ObjectType_OBJECT_SEQUENCE,
			pg_query.ObjectType_OBJECT_ATTRIBUTE:
			return true
		}
	}
	return false
}
