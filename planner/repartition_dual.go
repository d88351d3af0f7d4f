package planner

import (
	"context"
	"slices"
	"strconv"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// When two distributed tables join on columns that are neither one's
// distribution column, and the smaller is too large to go whole to every
// node, both are repartitioned: each row goes to the shard (of the
// anchor's shard layout) its join value hashes to, and every shard joins
// the rows of both tables that landed there. The statement then plans as
// a join of two tables colocated by their join columns.

// dualColocation marks the stand-ins of a dual repartition as one
// colocation group no real table belongs to.
const dualColocation = ^uint32(0)

// planDualRepartition plans the statement with anchor and the one other
// distributed table both repartitioned by their join columns.
func planDualRepartition(ctx context.Context, env *Env, st *Statement, sel *pg_query.SelectStmt, desc *Description, refs []tableRef, narrow map[*catalog.Table]*pullNarrowing, anchor tableRef, ships []shipCandidate, token string) (*executor.Broadcast, error) {
	unsupported := pgerr.Unsupported(hintJoins, "no join of two distributed tables to repartition")
	if len(ships) != 1 || ships[0].joinColumn != "" || anchor.table.Method != catalog.MethodHash {
		return nil, unsupported
	}
	other := ships[0]
	var otherRef tableRef
	for _, r := range refs {
		if r.table == other.table {
			if otherRef.table != nil {
				return nil, unsupported // referenced twice
			}
			otherRef = r
		}
	}
	anchorRows, anchorOIDs, err := shippedTable(ctx, env, anchor.table, narrow[anchor.table])
	if err != nil {
		return nil, err
	}
	for _, eq := range joinEqualities(sel, anchor.rv, otherRef.rv) {
		ai, oi := slices.Index(anchorRows.Names, sqlquote.Ident(eq[0])), slices.Index(other.rows.Names, sqlquote.Ident(eq[1]))
		if ai < 0 || oi < 0 {
			continue
		}
		at, ot := anchorOIDs[ai], other.oids[oi]
		if !catalog.Hashable(at) || catalog.ColocationFamily(at) != catalog.ColocationFamily(ot) {
			continue
		}
		layout := &catalog.Table{Method: catalog.MethodHash, DistType: at, Shards: anchor.table.Shards}
		op := &executor.Broadcast{Database: env.ShardDB}
		shipped := map[string]*catalog.Table{}
		for i, side := range []struct {
			t    *catalog.Table
			rows executor.InlineTable
			col  string
			idx  int
		}{{anchor.table, anchorRows, eq[0], ai}, {other.table, other.rows, eq[1], oi}} {
			stand := &catalog.Table{Schema: standInSchema, Name: token + "_r" + strconv.Itoa(i), Method: catalog.MethodHash,
				DistColumn: side.col, DistType: at, ColocationID: dualColocation, Shards: anchor.table.Shards}
			// The anchor may be the preserved side of an outer join:
			// none of its rows may be lost or repeated.
			part := &executor.Partitioning{Column: side.idx, Whole: i == 0, ShardOf: func(v []byte, format int16) (int, error) {
				return shardIndex(layout, at, v, format)
			}}
			var holders []string
			for _, sh := range stand.Shards {
				node, err := placementNode(env, sh)
				if err != nil {
					return nil, err
				}
				part.Nodes = append(part.Nodes, node)
				holders = append(holders, qualifiedShard(stand, sh))
			}
			rows := side.rows
			rows.Partition = part
			shipped[side.t.Schema+"."+side.t.Name] = stand
			op.Tables = append(op.Tables, rows)
			op.Placeholders = append(op.Placeholders, holders)
		}
		benv := *env
		benv.shipped = shipped
		if op.Plan, err = planSplit(ctx, &benv, st, sel, desc); err != nil {
			continue
		}
		op.Nodes = executor.PlanNodes(op.Plan)
		return op, nil
	}
	return nil, unsupported
}

// joinEqualities lists the column pairs (of a, of b) that the top-level
// SELECT's join conditions and WHERE equate, both qualified.
func joinEqualities(sel *pg_query.SelectStmt, a, b *pg_query.RangeVar) [][2]string {
	var out [][2]string
	for _, q := range topQuals(sel, func(*pg_query.JoinExpr) {}) {
		for _, c := range conjuncts(q) {
			l, r, ok := equality(c)
			if !ok {
				continue
			}
			if ac, ok := qualifiedColumn(l, a); ok {
				if bc, ok := qualifiedColumn(r, b); ok {
					out = append(out, [2]string{ac, bc})
				}
			}
			if ac, ok := qualifiedColumn(r, a); ok {
				if bc, ok := qualifiedColumn(l, b); ok {
					out = append(out, [2]string{ac, bc})
				}
			}
		}
	}
	return out
}
