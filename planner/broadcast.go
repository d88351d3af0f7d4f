package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// planShipped plans a SELECT joining distributed tables that the tiers
// cannot split together (no common distribution column): one distributed
// table, the anchor, stays in its shards, and the others are shipped to
// the nodes as the statement runs, narrowed to the rows and columns it
// needs. A table the statement joins by equality with the anchor's
// distribution column (and references once) is repartitioned: it is
// planned as a table colocated with the anchor, distributed by its joined
// column, each shard getting the rows whose value hashes there. The others
// go whole to every node, planned as reference tables. The statement then
// plans as a colocated join, or the anchor joined with reference tables:
// router, merge or two-phase aggregate. Each result row comes from one
// row of the anchor, so the anchor must be referenced once, in the
// top-level FROM, where no outer join null-extends it. Among such tables
// the anchor is the one the WHERE filters least (the others, filtered, are
// the smaller ones to ship).
func planShipped(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description) (executor.Operator, error) {
	if err := requireCOrder(ctx, env, st.Node); err != nil {
		return nil, err
	}
	refs := resolveAll(env, st.Node)
	narrow, err := narrowPulls(ctx, env, st.Node, refs)
	if err != nil {
		return nil, err
	}
	anchor, ok := broadcastAnchor(st.Node.GetSelectStmt(), refs, narrow)
	if !ok {
		return nil, pgerr.Unsupported(hintJoins, "no distributed table can stay in place for this statement")
	}
	ships, err := shipCandidates(ctx, env, sel, refs, narrow, anchor)
	if err != nil {
		return nil, err
	}
	if len(ships) == 0 {
		return nil, pgerr.Unsupported(hintJoins, "nothing to ship")
	}
	token := placeholderToken(st.SQL)
	op, err := planShips(ctx, env, st, sel, desc, anchor.table, ships, token, true)
	if err != nil {
		// The tiers could not use a repartitioned table as colocated
		// (its join with the anchor is under an OR, in a subquery...).
		op, err = planShips(ctx, env, st, sel, desc, anchor.table, ships, token, false)
	}
	if err != nil {
		return nil, err
	}
	if op.Fallback, err = pullNarrowed(env, st, sel, desc, refs, narrow); err != nil {
		return nil, err
	}
	// The other table too large to go whole to every node: both
	// repartitioned, if they join on columns of one type family.
	if dual, derr := planDualRepartition(ctx, env, st, sel, desc, refs, narrow, anchor, ships, token); derr == nil {
		dual.Fallback = op.Fallback
		op.Fallback = dual
	}
	return op, nil
}

// shipCandidate is a table a broadcast ships.
type shipCandidate struct {
	table *catalog.Table
	rows  executor.InlineTable
	// oids are the types of rows' columns.
	oids []uint32
	// joinColumn, if not empty, is the column of the table the statement
	// equates with the anchor's distribution column (repartitioning
	// column); joinIndex is its index among rows' columns.
	joinColumn string
	joinIndex  int
}

// shipCandidates lists the distributed tables other than the anchor, each
// once, with what they ship.
func shipCandidates(ctx context.Context, env *Env, sel *pg_query.SelectStmt, refs []tableRef, narrow map[*catalog.Table]*pullNarrowing, anchor tableRef) ([]shipCandidate, error) {
	count := map[*catalog.Table]int{}
	for _, r := range refs {
		if r.table != nil {
			count[r.table]++
		}
	}
	var ships []shipCandidate
	seen := map[*catalog.Table]bool{}
	for _, r := range refs {
		t := r.table
		if t == nil || t == anchor.table || t.Method == catalog.MethodReplication || seen[t] {
			continue
		}
		seen[t] = true
		rows, oids, err := shippedTable(ctx, env, t, narrow[t])
		if err != nil {
			return nil, err
		}
		c := shipCandidate{table: t, rows: rows, oids: oids}
		if count[t] == 1 {
			c.joinColumn, c.joinIndex = repartitionColumn(sel, anchor, r, c)
		}
		ships = append(ships, c)
	}
	return ships, nil
}

// planShips plans the statement with the candidates' stand-ins:
// repartitioned where they can be (and repartition is set), whole
// otherwise.
func planShips(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description, anchor *catalog.Table, ships []shipCandidate, token string, repartition bool) (*executor.Broadcast, error) {
	op := &executor.Broadcast{Database: env.ShardDB}
	shipped := map[string]*catalog.Table{}
	for i, c := range ships {
		name := fmt.Sprintf("%s_%d", token, i)
		rows := c.rows
		var stand *catalog.Table
		var holders []string
		if repartition && c.joinColumn != "" {
			var err error
			stand, rows.Partition, err = partitionedStandIn(env, name, anchor, c)
			if err != nil {
				return nil, err
			}
			for _, sh := range stand.Shards {
				holders = append(holders, qualifiedShard(stand, sh))
			}
		} else {
			stand = standIn(env, name)
			holders = []string{qualifiedShard(stand, stand.Shards[0])}
		}
		shipped[c.table.Schema+"."+c.table.Name] = stand
		op.Tables = append(op.Tables, rows)
		op.Placeholders = append(op.Placeholders, holders)
	}
	benv := *env
	benv.shipped = shipped
	var err error
	if op.Plan, err = planSplit(ctx, &benv, st, sel, desc); err != nil {
		return nil, err
	}
	op.Nodes = executor.PlanNodes(op.Plan)
	return op, nil
}

// broadcastAnchor picks the distributed table that stays in place.
func broadcastAnchor(top *pg_query.SelectStmt, refs []tableRef, narrow map[*catalog.Table]*pullNarrowing) (tableRef, bool) {
	count := map[*catalog.Table]int{}
	for _, r := range refs {
		if r.table != nil {
			count[r.table]++
		}
	}
	scopes := fromScopes(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: top}})
	var anchor tableRef
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
		if anchor.table == nil || filters < least {
			anchor, least = r, filters
		}
	}
	return anchor, anchor.table != nil
}

// shippedTable is how a broadcast reads a table it ships: the columns the
// statement uses (all of them when it is referenced more than once), and
// the rows its WHERE keeps. It also returns the type OIDs of those
// columns.
func shippedTable(ctx context.Context, env *Env, t *catalog.Table, n *pullNarrowing) (executor.InlineTable, []uint32, error) {
	tc, err := tableColumnTypes(ctx, env.Shell, t)
	if err != nil {
		return executor.InlineTable{}, nil, err
	}
	names, types, oids := tc.names, tc.types, tc.oids
	scan := scanAll
	if n != nil {
		scan = n.usedScan
		names, types, oids = nil, nil, nil
		for _, c := range n.usedColumns() {
			i := slices.Index(tc.names, c)
			names, types, oids = append(names, c), append(types, tc.types[i]), append(oids, tc.oids[i])
		}
		if len(names) == 0 { // rows without a column the statement reads
			names, types, oids = []string{"distgres_row"}, []string{"boolean"}, []uint32{16}
		}
	}
	quoted := make([]string, len(names))
	for i, c := range names {
		quoted[i] = sqlquote.Ident(c)
	}
	sources, err := tableSources(env, t, scan)
	if err != nil {
		return executor.InlineTable{}, nil, err
	}
	return executor.InlineTable{Sources: sources, Names: quoted, Types: types, UsesParams: n.usesParams()}, oids, nil
}

// standInSchema names stand-ins' schema (no such schema exists).
const standInSchema = "distgres_shipped"

// standIn is the reference table a shipped table is planned as: on every
// active node, named so that its rendered name is a placeholder no
// statement contains by chance.
func standIn(env *Env, name string) *catalog.Table {
	var nodes []catalog.NodeID
	for _, n := range env.Catalog.ActiveNodes() {
		nodes = append(nodes, n.ID)
	}
	return &catalog.Table{Schema: standInSchema, Name: name, Method: catalog.MethodReplication,
		Shards: []catalog.Shard{{ID: 0, Placements: nodes}}}
}

// placeholderToken names a statement's shipped tables: derived from its
// text, which therefore cannot contain it.
func placeholderToken(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return "shipped_" + hex.EncodeToString(sum[:8])
}
