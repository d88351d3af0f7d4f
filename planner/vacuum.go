package planner

import (
	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planVacuum runs VACUUM and ANALYZE of distributed tables on their
// shards, node by node (they cannot run in a transaction block). Without a
// table list they run on every shell and shard database.
func planVacuum(env *Env, st *Statement, vs *pg_query.VacuumStmt) (*Plan, error) {
	if len(vs.Rels) == 0 {
		p := &Plan{Kind: KindDDL, DDL: &DDL{NoTransaction: true, Work: func(snap *catalog.Snapshot) ([]executor.Target, error) {
			var ts []executor.Target
			for _, n := range snap.Nodes() {
				ts = append(ts, executor.Target{Node: n, Database: env.ShellDB, SQL: []string{st.SQL}},
					executor.Target{Node: n, Database: env.ShardDB, SQL: []string{st.SQL}})
			}
			return ts, nil
		}}}
		return p, nil
	}
	var local []*pg_query.Node
	var tables []*catalog.Table
	var cols [][]*pg_query.Node
	for _, r := range vs.Rels {
		vr := r.GetVacuumRelation()
		if t := resolve(env, vr.GetRelation()); t != nil {
			tables = append(tables, t)
			cols = append(cols, vr.VaCols)
			continue
		}
		local = append(local, r)
	}
	if len(tables) == 0 {
		return planBroadcast(env, st)
	}
	tag := "VACUUM"
	if !vs.IsVacuumcmd {
		tag = "ANALYZE"
	}
	return &Plan{Kind: KindDDL, DDL: &DDL{Tag: tag, NoTransaction: true, Work: func(snap *catalog.Snapshot) ([]executor.Target, error) {
		var out []executor.Target
		if len(local) > 0 {
			c := clone(vs)
			c.Rels = local
			sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_VacuumStmt{VacuumStmt: c}})
			if err != nil {
				return nil, err
			}
			ts, _ := shellAndShardWork(snap, env, sql, nil, nil)
			out = append(out, ts...)
		}
		for i, t := range tables {
			ts, err := shellAndShardWork(snap, env, "", t, func(sh catalog.Shard) (string, error) {
				c := clone(vs)
				rel := &pg_query.RangeVar{Schemaname: t.Schema, Relname: ShardTableName(t, sh), Inh: true, Relpersistence: "p"}
				c.Rels = []*pg_query.Node{{Node: &pg_query.Node_VacuumRelation{VacuumRelation: &pg_query.VacuumRelation{Relation: rel, VaCols: cols[i]}}}}
				return deparse(&pg_query.Node{Node: &pg_query.Node_VacuumStmt{VacuumStmt: c}})
			})
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		return out, nil
	}}}, nil
}
