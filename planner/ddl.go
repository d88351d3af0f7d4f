package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

const hintUniqueDist = "Include the distribution column in the constraint, or choose another distribution column with DISTRIBUTE BY HASH(column)."

// shardObjectName maps the name of an index or constraint of a logical
// table to its name on a shard: names derived from the table name follow
// the shard's table name, others get the shard id appended.
func shardObjectName(t *catalog.Table, s catalog.Shard, name string) string {
	if name == "" {
		return ""
	}
	if strings.HasPrefix(name, t.Name+"_") {
		return ShardTableName(t, s) + name[len(t.Name):]
	}
	return name + "_" + itoa(s.ID)
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// shellAndShardWork returns targets that run shellSQL on every node's shell
// database (draining and joining nodes too: their shells must stay in step) and each shard's statements on the nodes holding it.
func shellAndShardWork(snap *catalog.Snapshot, env *Env, shellSQL string, t *catalog.Table, perShard func(catalog.Shard) (string, error)) ([]executor.Target, error) {
	var ts []executor.Target
	if shellSQL != "" {
		for _, n := range snap.Nodes() {
			ts = append(ts, executor.Target{Node: n, Database: env.ShellDB, SQL: []string{shellSQL}})
		}
	}
	if t == nil {
		return ts, nil
	}
	var shardTs []executor.Target
	for _, sh := range t.Shards {
		sql, err := perShard(sh)
		if err != nil {
			return nil, err
		}
		for _, id := range sh.Placements {
			n, ok := snap.Node(id)
			if !ok {
				return nil, pgerr.New(pgerr.CannotConnectNow, "shard %d is placed on unknown node %d", sh.ID, id)
			}
			shardTs = append(shardTs, executor.Target{Node: n, Database: env.ShardDB, SQL: []string{sql}})
		}
	}
	return append(ts, groupByNode(shardTs)...), nil
}

func planCreateTable(ctx context.Context, env *Env, st *Statement, cs *pg_query.CreateStmt) (*Plan, error) {
	if cs.Relation.Relpersistence == "t" {
		if st.Distribute != nil {
			return nil, pgerr.Unsupported("Create the temporary table without DISTRIBUTE BY; it lives on one node for the session.", "temporary tables cannot be distributed")
		}
		return planShell(ctx, env, st, false)
	}
	switch {
	case len(cs.InhRelations) > 0, cs.Partspec != nil, cs.Partbound != nil, cs.OfTypename != nil:
		return nil, pgerr.Unsupported("Create a plain table.", "inheritance, partitioning and typed tables are not supported for distributed tables yet")
	}
	schema := cs.Relation.Schemaname
	if schema == "" {
		schema = "public"
	}
	name := cs.Relation.Relname
	if _, ok := env.Catalog.Table(schema, name); ok {
		if cs.IfNotExists {
			return &Plan{Kind: KindDDL, DDL: &DDL{Tag: "CREATE TABLE"}}, nil
		}
		return nil, pgerr.New(pgerr.DuplicateTable, "relation %q already exists", name)
	}
	if len(name)+8 > maxIdentLen {
		return nil, pgerr.New(pgerr.FeatureNotSupported, "table name %q is too long for a distributed table", name).WithHint("Use a name of at most %d characters.", maxIdentLen-8)
	}
	var cols []*pg_query.ColumnDef
	var cons []*pg_query.Constraint
	for _, e := range cs.TableElts {
		switch x := e.Node.(type) {
		case *pg_query.Node_ColumnDef:
			if err := checkSequenceColumn(x.ColumnDef, false); err != nil {
				return nil, err
			}
			cols = append(cols, x.ColumnDef)
			for _, c := range x.ColumnDef.Constraints {
				cc := c.GetConstraint()
				if cc.Contype == pg_query.ConstrType_CONSTR_PRIMARY || cc.Contype == pg_query.ConstrType_CONSTR_UNIQUE {
					cc = clone(cc)
					cc.Keys = []*pg_query.Node{pg_query.MakeStrNode(x.ColumnDef.Colname)}
				}
				cons = append(cons, cc)
			}
		case *pg_query.Node_Constraint:
			cons = append(cons, x.Constraint)
		case *pg_query.Node_TableLikeClause:
			return nil, pgerr.Unsupported("List the columns.", "CREATE TABLE ... (LIKE ...) is not supported for distributed tables yet")
		}
	}
	method, distCol, err := chooseDistribution(env, st, cols, cons)
	if err != nil {
		return nil, err
	}
	var distType uint32
	if distCol != "" {
		var def *pg_query.ColumnDef
		for _, c := range cols {
			if c.Colname == distCol {
				def = c
			}
		}
		if def == nil {
			return nil, pgerr.New(pgerr.UndefinedColumn, "column %q named in DISTRIBUTE BY does not exist", distCol)
		}
		if distType, err = columnType(ctx, env, def.TypeName); err != nil {
			return nil, err
		}
		if method == catalog.MethodHash && !catalog.Hashable(distType) {
			return nil, pgerr.Unsupported("Distribute by a column of an integer, text, uuid, date or timestamp type.", "column %q cannot be used as a hash distribution column: its type is not supported", distCol)
		}
		if method == catalog.MethodModulo && !isIntType(distType) {
			return nil, pgerr.Unsupported("Distribute by an integer column.", "MODULO distribution needs an integer column")
		}
	}
	for _, c := range cons {
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			if err := checkUnique(method, distCol, c); err != nil {
				return nil, err
			}
		case pg_query.ConstrType_CONSTR_FOREIGN:
			return nil, pgerr.Unsupported("Drop the foreign key; it is not enforced across shards yet.", "foreign keys on distributed tables are not supported yet")
		}
	}
	cmd := catalog.CreateTable{Schema: schema, Name: name, Method: method, DistColumn: distCol, DistType: distType}
	if method != catalog.MethodReplication {
		cmd.ShardCount = env.DefaultShardCount
	}
	shellSQL := st.SQL
	return &Plan{Kind: KindDDL, DDL: &DDL{
		Before: append([]catalog.Command{cmd}, columnSequences(schema, name, cols)...),
		Revert: catalog.DropTable{Schema: schema, Name: name},
		Tag:    "CREATE TABLE",
		Work: func(snap *catalog.Snapshot) ([]executor.Target, error) {
			t, ok := snap.Table(schema, name)
			if !ok {
				return nil, pgerr.New(pgerr.UndefinedTable, "relation %q does not exist", name)
			}
			return shellAndShardWork(snap, env, shellSQL, t, func(sh catalog.Shard) (string, error) {
				c := clone(cs)
				c.Relation = &pg_query.RangeVar{Schemaname: schema, Relname: ShardTableName(t, sh), Inh: true, Relpersistence: "p"}
				renameConstraints(c, t, sh)
				stripSequenceDefaults(c)
				return deparse(&pg_query.Node{Node: &pg_query.Node_CreateStmt{CreateStmt: c}})
			})
		},
		Undo: func(snap *catalog.Snapshot) []executor.Target {
			t, ok := snap.Table(schema, name)
			if !ok {
				return nil
			}
			ts, _ := shellAndShardWork(snap, env, "DROP TABLE IF EXISTS "+qualifiedTable(t), t, func(sh catalog.Shard) (string, error) {
				return "DROP TABLE IF EXISTS " + qualifiedShard(t, sh), nil
			})
			return ts
		},
	}}, nil
}

// renameConstraints gives the named constraints of a shard's CREATE TABLE
// shard-specific names (index names are unique per schema).
func renameConstraints(c *pg_query.CreateStmt, t *catalog.Table, sh catalog.Shard) {
	for _, e := range c.TableElts {
		if cd := e.GetColumnDef(); cd != nil {
			for _, k := range cd.Constraints {
				k.GetConstraint().Conname = shardObjectName(t, sh, k.GetConstraint().Conname)
			}
		}
		if k := e.GetConstraint(); k != nil {
			k.Conname = shardObjectName(t, sh, k.Conname)
		}
	}
}

// chooseDistribution applies DISTRIBUTE BY, the session's default, or the
// Postgres-XL rule: the first column of the primary key, else of a unique
// constraint, else the first column of a hashable type, else round robin.
func chooseDistribution(env *Env, st *Statement, cols []*pg_query.ColumnDef, cons []*pg_query.Constraint) (catalog.Method, string, error) {
	if d := st.Distribute; d != nil {
		return d.Method, d.Column, nil
	}
	// A session default that unique constraints rule out (they must
	// include the distribution column) gives way to the Postgres-XL rule.
	switch env.DefaultDistribution {
	case "replication":
		return catalog.MethodReplication, "", nil
	case "roundrobin":
		if uniqueAllows(cons, catalog.MethodRoundRobin, "") {
			return catalog.MethodRoundRobin, "", nil
		}
	case "hash-first-column":
		if len(cols) > 0 && hashableTypeName(cols[0].TypeName) {
			if uniqueAllows(cons, catalog.MethodHash, cols[0].Colname) {
				return catalog.MethodHash, cols[0].Colname, nil
			}
		} else if uniqueAllows(cons, catalog.MethodRoundRobin, "") {
			return catalog.MethodRoundRobin, "", nil
		}
	}
	// The Postgres-XL rule: the first column of the primary key, else of
	// a unique constraint, else the first hashable column; a column only
	// if every unique constraint includes it. When no column can serve
	// every unique constraint, only a full copy on each node can enforce
	// them all: the table becomes a reference table.
	hashable := func(col string) bool {
		for _, cd := range cols {
			if cd.Colname == col && hashableTypeName(cd.TypeName) {
				return true
			}
		}
		return false
	}
	for _, want := range []pg_query.ConstrType{pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE} {
		for _, c := range cons {
			if c.Contype == want && len(c.Keys) > 0 {
				if col := c.Keys[0].GetString_().GetSval(); hashable(col) && uniqueAllows(cons, catalog.MethodHash, col) {
					return catalog.MethodHash, col, nil
				}
			}
		}
	}
	for _, cd := range cols {
		if hashableTypeName(cd.TypeName) && uniqueAllows(cons, catalog.MethodHash, cd.Colname) {
			return catalog.MethodHash, cd.Colname, nil
		}
	}
	if !uniqueAllows(cons, catalog.MethodRoundRobin, "") {
		return catalog.MethodReplication, "", nil
	}
	return catalog.MethodRoundRobin, "", nil
}

// typeNames maps the names pg_query gives built-in types to their OIDs.
var typeNames = map[string]uint32{
	"int2": 21, "smallint": 21, "smallserial": 21, "serial2": 21,
	"int4": 23, "int": 23, "integer": 23, "serial": 23, "serial4": 23,
	"int8": 20, "bigint": 20, "bigserial": 20, "serial8": 20,
	"text": 25, "varchar": 1043, "bpchar": 1042, "char": 1042, "bool": 16, "boolean": 16,
	"bytea": 17, "uuid": 2950, "date": 1082, "timestamp": 1114, "timestamptz": 1184,
	"numeric": 1700, "float4": 700, "float8": 701, "json": 114, "jsonb": 3802,
}

func typeNameKey(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.ArrayBounds) > 0 || len(tn.Names) == 0 {
		return ""
	}
	last := tn.Names[len(tn.Names)-1].GetString_().GetSval()
	if len(tn.Names) == 2 && tn.Names[0].GetString_().GetSval() != "pg_catalog" {
		return ""
	}
	return last
}

func hashableTypeName(tn *pg_query.TypeName) bool {
	oid, ok := typeNames[typeNameKey(tn)]
	return ok && catalog.Hashable(oid)
}

// columnType resolves a column's type OID (asking PostgreSQL for types it
// does not know by name).
func columnType(ctx context.Context, env *Env, tn *pg_query.TypeName) (uint32, error) {
	if oid, ok := typeNames[typeNameKey(tn)]; ok {
		return oid, nil
	}
	c := clone(tn)
	c.Typmods = nil
	sel := &pg_query.SelectStmt{TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(&pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
		Arg: &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{Isnull: true}}}, TypeName: c,
	}}}, -1)}}
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}})
	if err != nil {
		return 0, err
	}
	d, err := env.Shell.Describe(ctx, sql, nil)
	if err != nil {
		return 0, err
	}
	return d.Columns[0].TypeOID, nil
}

// checkUnique rejects unique constraints that shards cannot enforce.
func checkUnique(method catalog.Method, distCol string, c *pg_query.Constraint) error {
	switch method {
	case catalog.MethodReplication:
		return nil
	case catalog.MethodRoundRobin:
		return pgerr.Unsupported("Distribute the table by HASH(column) on a column of the constraint.", "unique constraints on round-robin tables cannot be enforced")
	}
	if c.Contype == pg_query.ConstrType_CONSTR_EXCLUSION {
		return pgerr.Unsupported(hintUniqueDist, "exclusion constraints on distributed tables are not supported")
	}
	for _, k := range c.Keys {
		if k.GetString_().GetSval() == distCol {
			return nil
		}
	}
	return pgerr.Unsupported(hintUniqueDist, "cannot create a unique constraint that does not include the distribution column %q", distCol)
}

// uniqueAllows says whether the unique constraints can be enforced under a
// distribution.
func uniqueAllows(cons []*pg_query.Constraint, method catalog.Method, col string) bool {
	for _, c := range cons {
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			if checkUnique(method, col, c) != nil {
				return false
			}
		}
	}
	return true
}
