package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planShipped plans a SELECT joining distributed tables that the tiers
// cannot split together (no common distribution column): one distributed
// table, the anchor, stays in its shards, and the others are shipped to
// every node as the statement runs, narrowed to the rows and columns it
// needs. The statement then plans as the anchor joined with reference
// tables: router, merge or two-phase aggregate. Each result row comes from
// one row of the anchor, so the anchor must be referenced once, in the
// top-level FROM, where no outer join null-extends it. Among such tables
// the anchor is the one the WHERE filters least (the others, filtered, are
// the smaller ones to ship).
func planShipped(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	refs := resolveAll(env, st.Node)
	narrow, err := narrowPulls(ctx, env, st.Node, refs)
	if err != nil {
		return nil, err
	}
	anchor := broadcastAnchor(st.Node.GetSelectStmt(), refs, narrow)
	if anchor == nil {
		return nil, pgerr.Unsupported(hintJoins, "no distributed table can stay in place for this statement")
	}
	token := placeholderToken(st.SQL)
	op := &executor.Broadcast{}
	shipped := map[string]*catalog.Table{}
	for _, r := range refs {
		t := r.table
		if t == nil || t == anchor || t.Method == catalog.MethodReplication || shipped[t.Schema+"."+t.Name] != nil {
			continue
		}
		stand := standIn(env, fmt.Sprintf("%s_%d", token, len(op.Tables)))
		table, err := shippedTable(ctx, env, t, narrow[t])
		if err != nil {
			return nil, err
		}
		shipped[t.Schema+"."+t.Name] = stand
		op.Tables = append(op.Tables, table)
		op.Placeholders = append(op.Placeholders, qualifiedShard(stand, stand.Shards[0]))
	}
	if len(op.Tables) == 0 {
		return nil, pgerr.Unsupported(hintJoins, "nothing to ship")
	}
	benv := *env
	benv.shipped = shipped
	if op.Plan, err = planSplit(ctx, &benv, st, sel, desc); err != nil {
		return nil, err
	}
	if op.Fallback, err = pullNarrowed(env, st, sel, desc, refs, narrow); err != nil {
		return nil, err
	}
	return op, nil
}

// broadcastAnchor picks the distributed table that stays in place, or nil.
func broadcastAnchor(top *pg_query.SelectStmt, refs []tableRef, narrow map[*catalog.Table]*pullNarrowing) *catalog.Table {
	count := map[*catalog.Table]int{}
	for _, r := range refs {
		if r.table != nil {
			count[r.table]++
		}
	}
	scopes := fromScopes(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: top}})
	var anchor *catalog.Table
	least := 0
	for _, r := range refs {
		t := r.table
		if t == nil || t.Method == catalog.MethodReplication || count[t] != 1 {
			continue
		}
		if s, ok := scopes[r.rv]; !ok || s.sel != top || s.nullable {
			continue
		}
		filters := 0
		if n := narrow[t]; n != nil {
			filters = len(n.where)
		}
		if anchor == nil || filters < least {
			anchor, least = t, filters
		}
	}
	return anchor
}

// shippedTable is how a broadcast reads a table it ships: the columns the
// statement uses (all of them when it is referenced more than once), and
// the rows its WHERE keeps.
func shippedTable(ctx context.Context, env *Env, t *catalog.Table, n *pullNarrowing) (executor.InlineTable, error) {
	names, types, err := tableColumnTypes(ctx, env.Shell, t)
	if err != nil {
		return executor.InlineTable{}, err
	}
	scan := scanAll
	if n != nil {
		scan = n.usedScan
		typeOf := map[string]string{}
		for i, c := range names {
			typeOf[c] = types[i]
		}
		names, types = n.usedColumns(), nil
		for _, c := range names {
			types = append(types, typeOf[c])
		}
		if len(names) == 0 { // rows without a column the statement reads
			names, types = []string{"distgres_row"}, []string{"boolean"}
		}
	}
	for i, c := range names {
		names[i] = sqlquote.Ident(c)
	}
	sources, err := tableSources(env, t, scan)
	if err != nil {
		return executor.InlineTable{}, err
	}
	return executor.InlineTable{Sources: sources, Names: names, Types: types, UsesParams: n.usesParams()}, nil
}

// standIn is the reference table a shipped table is planned as: on every
// active node, named so that its rendered name is a placeholder no
// statement contains by chance.
func standIn(env *Env, name string) *catalog.Table {
	var nodes []catalog.NodeID
	for _, n := range env.Catalog.ActiveNodes() {
		nodes = append(nodes, n.ID)
	}
	return &catalog.Table{Schema: "distgres_shipped", Name: name, Method: catalog.MethodReplication,
		Shards: []catalog.Shard{{ID: 0, Placements: nodes}}}
}

// placeholderToken names a statement's shipped tables: derived from its
// text, which therefore cannot contain it.
func placeholderToken(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return "shipped_" + hex.EncodeToString(sum[:8])
}
