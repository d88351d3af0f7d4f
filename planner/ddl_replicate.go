package planner

import (
	"fmt"
	"slices"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A unique index whose key lacks the distribution column cannot be
// enforced by the shards, each seeing its own rows; a full copy on every
// node can. CREATE UNIQUE INDEX on such a key therefore turns an empty
// distributed table into a reference table, in the same transaction as
// the index: on every node the table keeps (or gets, copied from a local
// shard with its indexes and constraints) the first shard's table, the
// other shards are dropped, and the index is built. A table that already
// holds rows is refused by a check on the nodes, inside that transaction.

// planUniqueByReplicating plans CREATE UNIQUE INDEX is on t that way.
func planUniqueByReplicating(env *Env, st *Statement, is *pg_query.IndexStmt, t *catalog.Table) (*Plan, error) {
	if is.Concurrent {
		return nil, pgerr.Unsupported("Create the index without CONCURRENTLY, or include the distribution column.", "a unique index without the distribution column of %s cannot be built concurrently", t.Name)
	}
	placed := activeIDs(env.Catalog)
	if len(placed) == 0 {
		return nil, pgerr.New(pgerr.CannotConnectNow, "no data nodes are available")
	}
	first := t.Shards[0]
	index := clone(is)
	index.Relation = &pg_query.RangeVar{Schemaname: t.Schema, Relname: ShardTableName(t, first), Inh: true, Relpersistence: "p"}
	index.Idxname = shardObjectName(t, first, is.Idxname)
	indexSQL, err := deparse(&pg_query.Node{Node: &pg_query.Node_IndexStmt{IndexStmt: index}})
	if err != nil {
		return nil, err
	}
	shellSQL := st.SQL
	work := func(snap *catalog.Snapshot) ([]executor.Target, error) {
		targets, err := shellAndShardWork(snap, env, shellSQL, nil, nil)
		if err != nil {
			return nil, err
		}
		onNode := map[catalog.NodeID][]catalog.Shard{}
		var holders []catalog.NodeID
		for _, sh := range t.Shards {
			for _, id := range sh.Placements {
				if onNode[id] == nil {
					holders = append(holders, id)
				}
				onNode[id] = append(onNode[id], sh)
			}
		}
		all := slices.Clone(placed)
		for _, id := range holders {
			if !slices.Contains(all, id) {
				all = append(all, id) // it only loses its shards
			}
		}
		for _, id := range all {
			n, ok := snap.Node(id)
			if !ok {
				return nil, pgerr.New(pgerr.CannotConnectNow, "data node %d is not in the catalog", id)
			}
			sql, err := replicateOnNode(t, onNode[id], slices.Contains(placed, id), indexSQL, is.Idxname)
			if err != nil {
				return nil, err
			}
			targets = append(targets, executor.Target{Node: n, Database: env.ShardDB, SQL: sql})
		}
		return targets, nil
	}
	return ddlPlan("CREATE INDEX", work, catalog.ReplicateTable{Schema: t.Schema, Name: t.Name, Nodes: placed}), nil
}

func activeIDs(snap *catalog.Snapshot) []catalog.NodeID {
	var ids []catalog.NodeID
	for _, n := range snap.ActiveNodes() {
		ids = append(ids, n.ID)
	}
	return ids
}

// replicateOnNode returns the statements for one node that holds the
// shards local of t (possibly none) and, if placed, holds the reference
// table afterwards.
func replicateOnNode(t *catalog.Table, local []catalog.Shard, placed bool, indexSQL, indexName string) ([]string, error) {
	first := t.Shards[0]
	var sql []string
	if len(local) > 0 {
		sql = append(sql, emptyGuard(t, local, indexName))
	}
	hasFirst := slices.ContainsFunc(local, func(sh catalog.Shard) bool { return sh.ID == first.ID })
	if placed && !hasFirst {
		if len(local) == 0 {
			return nil, pgerr.Unsupported("Include the distribution column in the index, or rebalance so that every node holds a shard first.",
				"cannot make %s a reference table: a data node holds none of its shards", t.Name)
		}
		sql = append(sql, copyShardTable(t, local[0], first)...)
	}
	for _, sh := range local {
		if placed && sh.ID == first.ID {
			continue
		}
		sql = append(sql, "DROP TABLE "+qualifiedShard(t, sh))
	}
	if placed {
		sql = append(sql, indexSQL)
	}
	return sql, nil
}

// emptyGuard fails the statement when any of the shards holds a row.
func emptyGuard(t *catalog.Table, shards []catalog.Shard, indexName string) string {
	cond := ""
	for i, sh := range shards {
		if i > 0 {
			cond += " OR "
		}
		cond += "EXISTS (SELECT 1 FROM " + qualifiedShard(t, sh) + ")"
	}
	what := "a unique index"
	if indexName != "" {
		what = "unique index " + sqlquote.Ident(indexName)
	}
	msg := fmt.Sprintf("%s without the distribution column makes %s a reference table, which works only while it holds no rows", what, sqlquote.Ident(t.Name))
	hint := fmt.Sprintf("Include the distribution column %s in the index, or create the index before loading the table.", sqlquote.Ident(t.DistColumn))
	return "DO $distgres$ BEGIN IF " + cond + " THEN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = " +
		sqlquote.Literal(msg) + ", HINT = " + sqlquote.Literal(hint) + "; END IF; END $distgres$"
}

// copyShardTable creates the table of shard to on a node from the local
// shard from: columns, defaults and check constraints with LIKE, then
// every index and unique or primary key constraint, named for the new
// shard as the planner names shard objects.
func copyShardTable(t *catalog.Table, from, to catalog.Shard) []string {
	src, dst := qualifiedShard(t, from), qualifiedShard(t, to)
	oldPrefix, newPrefix := ShardTableName(t, from), ShardTableName(t, to)
	oldSuffix, newSuffix := "_"+itoa(from.ID), "_"+itoa(to.ID)
	rename := func(v string) string {
		return fmt.Sprintf("(CASE WHEN starts_with(%[1]s, %[2]s) THEN %[3]s || substr(%[1]s, %[4]d) WHEN right(%[1]s, %[5]d) = %[6]s THEN left(%[1]s, length(%[1]s) - %[5]d) || %[7]s ELSE %[1]s END)",
			v, sqlquote.Literal(oldPrefix), sqlquote.Literal(newPrefix), len(oldPrefix)+1, len(oldSuffix), sqlquote.Literal(oldSuffix), sqlquote.Literal(newSuffix))
	}
	return []string{
		"CREATE TABLE " + dst + " (LIKE " + src + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS INCLUDING STATISTICS INCLUDING COMPRESSION)",
		"DO $distgres$ DECLARE r record; BEGIN\n" +
			"FOR r IN SELECT ci.relname::text AS name, pg_get_indexdef(i.indexrelid) AS def, con.conname::text AS conname, pg_get_constraintdef(con.oid) AS condef" +
			" FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid" +
			" LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')" +
			" WHERE i.indrelid = " + sqlquote.Literal(src) + "::regclass ORDER BY i.indexrelid LOOP\n" +
			"IF r.conname IS NOT NULL THEN EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', " + sqlquote.Literal(dst) + ", " + rename("r.conname") + ", r.condef);\n" +
			"ELSE EXECUTE regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+', 'CREATE \\1INDEX ' || quote_ident(" + rename("r.name") + ") || ' ON ' || " + sqlquote.Literal(dst) + ");\n" +
			"END IF; END LOOP;\n" +
			"FOR r IN SELECT conname::text AS name FROM pg_constraint WHERE conrelid = " + sqlquote.Literal(dst) + "::regclass AND contype = 'c' LOOP\n" +
			"IF " + rename("r.name") + " <> r.name THEN EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', " + sqlquote.Literal(dst) + ", r.name, " + rename("r.name") + "); END IF;\n" +
			"END LOOP; END $distgres$",
	}
}
