package planner

import (
	"context"
	"github.com/distgres/distgres/sqlquote"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// nameParts turns a List of String nodes into a (schema, name) pair.
func nameParts(n *pg_query.Node) (schema, name string) {
	var parts []string
	for _, it := range n.GetList().GetItems() {
		parts = append(parts, it.GetString_().GetSval())
	}
	switch len(parts) {
	case 1:
		return "", parts[0]
	case 2:
		return parts[0], parts[1]
	case 3:
		return parts[1], parts[2]
	}
	return "", ""
}

func lookup(env *Env, n *pg_query.Node) *catalog.Table {
	schema, name := nameParts(n)
	return lookupName(env, schema, name)
}

func lookupName(env *Env, schema, name string) *catalog.Table {
	if schema == "" {
		schema = "public"
	}
	t, _ := env.Catalog.Table(schema, name)
	return t
}

func ddlPlan(tag string, work func(*catalog.Snapshot) ([]executor.Target, error), after ...catalog.Command) *Plan {
	return &Plan{Kind: KindDDL, DDL: &DDL{Tag: tag, Work: work, After: after}}
}

func planDrop(ctx context.Context, env *Env, st *Statement, ds *pg_query.DropStmt) (*Plan, error) {
	switch ds.RemoveType {
	case pg_query.ObjectType_OBJECT_TABLE:
	case pg_query.ObjectType_OBJECT_INDEX:
		return planDropIndex(ctx, env, st, ds)
	default:
		return planBroadcast(env, st)
	}
	var tables []*catalog.Table
	for _, o := range ds.Objects {
		if t := lookup(env, o); t != nil {
			tables = append(tables, t)
		}
	}
	if len(tables) == 0 {
		return planBroadcast(env, st)
	}
	if len(tables) != len(ds.Objects) && !ds.MissingOk {
		return nil, pgerr.Unsupported("Drop distributed and other tables in separate statements.", "DROP TABLE of distributed tables together with other tables is not supported")
	}
	var after []catalog.Command
	for _, t := range tables {
		after = append(after, catalog.DropTable{Schema: t.Schema, Name: t.Name})
	}
	cascade := ""
	if ds.Behavior == pg_query.DropBehavior_DROP_CASCADE {
		cascade = " CASCADE"
	}
	shellSQL := st.SQL
	return ddlPlan("DROP TABLE", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		var ts []executor.Target
		for i, t := range tables {
			sql := ""
			if i == 0 {
				sql = shellSQL
			}
			w, err := shellAndShardWork(snap, env, sql, t, func(sh catalog.Shard) (string, error) {
				return "DROP TABLE IF EXISTS " + qualifiedShard(t, sh) + cascade, nil
			})
			if err != nil {
				return nil, err
			}
			ts = append(ts, w...)
		}
		return ts, nil
	}, after...), nil
}

// indexOwner asks the shell which table an index belongs to.
func indexOwner(ctx context.Context, env *Env, schema, name string) (*catalog.Table, error) {
	q := schema
	if q == "" {
		q = "public"
	}
	v, ok, err := env.Shell.QueryValue(ctx, "SELECT n.nspname || chr(31) || c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indexrelid = to_regclass("+sqlquote.Literal(sqlquote.Ident(q)+"."+sqlquote.Ident(name))+")")
	if err != nil || !ok {
		return nil, err
	}
	parts := strings.SplitN(v, "\x1f", 2)
	if len(parts) != 2 {
		return nil, nil
	}
	return lookupName(env, parts[0], parts[1]), nil
}

func planDropIndex(ctx context.Context, env *Env, st *Statement, ds *pg_query.DropStmt) (*Plan, error) {
	if len(ds.Objects) != 1 {
		return planBroadcast(env, st)
	}
	schema, name := nameParts(ds.Objects[0])
	t, err := indexOwner(ctx, env, schema, name)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return planBroadcast(env, st)
	}
	conc := ""
	if ds.Concurrent {
		conc = "CONCURRENTLY "
	}
	shellSQL := st.SQL
	p := ddlPlan("DROP INDEX", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		return shellAndShardWork(snap, env, shellSQL, t, func(sh catalog.Shard) (string, error) {
			return "DROP INDEX " + conc + "IF EXISTS " + sqlquote.Ident(t.Schema) + "." + sqlquote.Ident(shardObjectName(t, sh, name)), nil
		})
	})
	p.DDL.NoTransaction = ds.Concurrent
	return p, nil
}

func planTruncate(env *Env, st *Statement, ts *pg_query.TruncateStmt) (*Plan, error) {
	var tables []*catalog.Table
	for _, r := range ts.Relations {
		if t := resolve(env, r.GetRangeVar()); t != nil {
			tables = append(tables, t)
		}
	}
	if len(tables) == 0 {
		return planBroadcast(env, st)
	}
	if len(tables) != len(ts.Relations) {
		return nil, pgerr.Unsupported("Truncate distributed and other tables in separate statements.", "TRUNCATE of distributed tables together with other tables is not supported")
	}
	opts := ""
	if ts.RestartSeqs {
		opts += " RESTART IDENTITY"
	}
	if ts.Behavior == pg_query.DropBehavior_DROP_CASCADE {
		opts += " CASCADE"
	}
	return ddlPlan("TRUNCATE TABLE", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		var out []executor.Target
		for _, t := range tables {
			w, err := shellAndShardWork(snap, env, "", t, func(sh catalog.Shard) (string, error) {
				return "TRUNCATE " + qualifiedShard(t, sh) + opts, nil
			})
			if err != nil {
				return nil, err
			}
			out = append(out, w...)
		}
		return out, nil
	}), nil
}

func planCreateIndex(env *Env, st *Statement, is *pg_query.IndexStmt) (*Plan, error) {
	t := resolve(env, is.Relation)
	if t == nil {
		return planBroadcast(env, st)
	}
	if is.Unique || is.Primary {
		c := &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_UNIQUE}
		for _, p := range is.IndexParams {
			if name := p.GetIndexElem().GetName(); name != "" {
				c.Keys = append(c.Keys, pg_query.MakeStrNode(name))
			}
		}
		if err := checkUnique(t.Method, t.DistColumn, c); err != nil {
			return planUniqueByReplicating(env, st, is, t)
		}
	}
	shellSQL := st.SQL
	p := ddlPlan("CREATE INDEX", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		return shellAndShardWork(snap, env, shellSQL, t, func(sh catalog.Shard) (string, error) {
			c := clone(is)
			c.Relation = &pg_query.RangeVar{Schemaname: t.Schema, Relname: ShardTableName(t, sh), Inh: true, Relpersistence: "p"}
			c.Idxname = shardObjectName(t, sh, is.Idxname)
			return deparse(&pg_query.Node{Node: &pg_query.Node_IndexStmt{IndexStmt: c}})
		})
	})
	p.DDL.NoTransaction = is.Concurrent
	return p, nil
}

func planAlterTable(ctx context.Context, env *Env, st *Statement, as *pg_query.AlterTableStmt) (*Plan, error) {
	t := resolve(env, as.Relation)
	if t == nil || as.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		if len(catalogRefs(env, st.Node)) > 0 {
			return nil, pgerr.Unsupported("Recreate the table with the change, or alter it through its columns and constraints.", "this ALTER statement is not supported on distributed tables yet")
		}
		return planBroadcast(env, st)
	}
	for _, n := range as.Cmds {
		c := n.GetAlterTableCmd()
		switch c.Subtype {
		case pg_query.AlterTableType_AT_ColumnDefault, pg_query.AlterTableType_AT_AddIdentity, pg_query.AlterTableType_AT_SetIdentity:
			if c.Subtype != pg_query.AlterTableType_AT_ColumnDefault || callsNextval(c.GetDef()) {
				return nil, pgerr.Unsupported("Create the table with a serial or identity column; its values come from a global sequence.",
					"a column of a distributed table cannot take values from a sequence added later")
			}
		case pg_query.AlterTableType_AT_DropColumn, pg_query.AlterTableType_AT_AlterColumnType:
			if c.Name == t.DistColumn && t.DistColumn != "" {
				return nil, pgerr.Unsupported("Create a new table distributed by another column and copy the rows.", "cannot drop or change the type of distribution column %q", t.DistColumn)
			}
		case pg_query.AlterTableType_AT_AddConstraint:
			k := c.GetDef().GetConstraint()
			switch k.GetContype() {
			case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
				if err := checkUnique(t.Method, t.DistColumn, k); err != nil {
					return nil, err
				}
			case pg_query.ConstrType_CONSTR_FOREIGN:
				return nil, pgerr.Unsupported("Enforce the relationship in the application for now; foreign keys across shards arrive later.", "foreign keys on distributed tables are not supported yet")
			}
		case pg_query.AlterTableType_AT_AddColumn:
			if err := checkSequenceColumn(c.GetDef().GetColumnDef(), true); err != nil {
				return nil, err
			}
			for _, k := range c.GetDef().GetColumnDef().GetConstraints() {
				switch k.GetConstraint().GetContype() {
				case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE:
					if t.Method != catalog.MethodReplication {
						return nil, pgerr.Unsupported(hintUniqueDist, "cannot create a unique constraint that does not include the distribution column %q", t.DistColumn)
					}
				case pg_query.ConstrType_CONSTR_FOREIGN:
					return nil, pgerr.Unsupported("Enforce the relationship in the application for now; foreign keys across shards arrive later.", "foreign keys on distributed tables are not supported yet")
				}
			}
		}
	}
	shellSQL := st.SQL
	return ddlPlan("ALTER TABLE", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		return shellAndShardWork(snap, env, shellSQL, t, func(sh catalog.Shard) (string, error) {
			c := clone(as)
			c.Relation = &pg_query.RangeVar{Schemaname: t.Schema, Relname: ShardTableName(t, sh), Inh: true, Relpersistence: "p"}
			for _, n := range c.Cmds {
				cmd := n.GetAlterTableCmd()
				switch cmd.Subtype {
				case pg_query.AlterTableType_AT_AddConstraint:
					k := cmd.GetDef().GetConstraint()
					k.Conname = shardObjectName(t, sh, k.Conname)
				case pg_query.AlterTableType_AT_DropConstraint, pg_query.AlterTableType_AT_ValidateConstraint:
					cmd.Name = shardObjectName(t, sh, cmd.Name)
				}
			}
			return deparse(&pg_query.Node{Node: &pg_query.Node_AlterTableStmt{AlterTableStmt: c}})
		})
	}), nil
}

func planRename(env *Env, st *Statement, rs *pg_query.RenameStmt) (*Plan, error) {
	if rs.Relation == nil {
		return planBroadcast(env, st)
	}
	t := resolve(env, rs.Relation)
	if t == nil {
		return planBroadcast(env, st)
	}
	shellSQL := st.SQL
	var after []catalog.Command
	var perShard func(sh catalog.Shard) (string, error)
	shard := func(sh catalog.Shard) string { return "ALTER TABLE " + qualifiedShard(t, sh) }
	switch rs.RenameType {
	case pg_query.ObjectType_OBJECT_TABLE:
		after = append(after, catalog.RenameTable{Schema: t.Schema, Name: t.Name, NewName: rs.Newname})
		perShard = func(sh catalog.Shard) (string, error) {
			return shard(sh) + " RENAME TO " + sqlquote.Ident(rs.Newname+"_"+itoa(sh.ID)), nil
		}
	case pg_query.ObjectType_OBJECT_COLUMN:
		after = append(after, catalog.RenameColumn{Schema: t.Schema, Table: t.Name, Column: rs.Subname, NewName: rs.Newname})
		perShard = func(sh catalog.Shard) (string, error) {
			return shard(sh) + " RENAME COLUMN " + sqlquote.Ident(rs.Subname) + " TO " + sqlquote.Ident(rs.Newname), nil
		}
	case pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		perShard = func(sh catalog.Shard) (string, error) {
			return shard(sh) + " RENAME CONSTRAINT " + sqlquote.Ident(shardObjectName(t, sh, rs.Subname)) + " TO " + sqlquote.Ident(shardObjectName(t, sh, rs.Newname)), nil
		}
	default:
		return nil, pgerr.Unsupported("Rename the table, a column or a constraint.", "this rename is not supported on distributed tables yet")
	}
	return ddlPlan("ALTER TABLE", func(snap *catalog.Snapshot) ([]executor.Target, error) {
		return shellAndShardWork(snap, env, shellSQL, t, perShard)
	}, after...), nil
}
