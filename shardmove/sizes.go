package shardmove

import (
	"context"
	"slices"

	"github.com/distgres/distgres/catalog"
)

// NodeSize is what a node holds.
type NodeSize struct {
	Node catalog.Node
	// Shards counts the shard placements on the node.
	Shards int
	// Bytes is the size of the shard database; -1 when the node did not
	// answer.
	Bytes int64
	// TableBytes maps "schema.shard_table" to its total size.
	TableBytes map[string]int64
}

// Sizes asks every node for the size of its shard tables.
func (m *Mover) Sizes(ctx context.Context, snap *catalog.Snapshot) []NodeSize {
	out := make([]NodeSize, 0, len(snap.Nodes()))
	for _, n := range snap.Nodes() {
		ns := NodeSize{Node: n, Bytes: -1}
		for _, t := range snap.Tables() {
			for _, sh := range t.Shards {
				if slices.Contains(sh.Placements, n.ID) {
					ns.Shards++
				}
			}
		}
		if tb, total, err := m.tableSizes(ctx, n); err == nil {
			ns.TableBytes, ns.Bytes = tb, total
		}
		out = append(out, ns)
	}
	return out
}

func (m *Mover) tableSizes(ctx context.Context, n catalog.Node) (map[string]int64, int64, error) {
	c, err := m.connect(ctx, n, m.cfg.ShardDB)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, `SELECT n.nspname, c.relname, pg_total_relation_size(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	sizes := make(map[string]int64)
	var total int64
	for rows.Next() {
		var schema, name string
		var size int64
		if err := rows.Scan(&schema, &name, &size); err != nil {
			return nil, 0, err
		}
		sizes[schema+"."+name] = size
		total += size
	}
	return sizes, total, rows.Err()
}

// Groups returns the shard groups of the distributed tables with their
// sizes (0 where a node did not answer).
func Groups(snap *catalog.Snapshot, sizes []NodeSize) []Group {
	bytes := make(map[string]int64)
	for _, ns := range sizes {
		for k, v := range ns.TableBytes {
			bytes[k] = v
		}
	}
	type key struct {
		colocation uint32
		index      int
	}
	groups := make(map[key]*Group)
	var order []key
	for _, t := range snap.Tables() {
		if t.Method == catalog.MethodReplication {
			continue
		}
		for _, st := range shardTables(snap, shardIDs(t)) {
			_, sh, _ := snap.ShardByID(st.id)
			if len(sh.Placements) != 1 {
				continue
			}
			k := key{t.ColocationID, sh.Index}
			g, ok := groups[k]
			if !ok {
				g = &Group{Colocation: t.ColocationID, Index: sh.Index, Node: sh.Placements[0]}
				groups[k] = g
				order = append(order, k)
			}
			g.ShardIDs = append(g.ShardIDs, st.id)
			g.Tables = append(g.Tables, st.table)
			g.Bytes += bytes[st.schema+"."+st.name]
		}
	}
	out := make([]Group, 0, len(order))
	for _, k := range order {
		out = append(out, *groups[k])
	}
	slices.SortFunc(out, compareGroups)
	return out
}

func shardIDs(t *catalog.Table) []int64 {
	ids := make([]int64, len(t.Shards))
	for i, sh := range t.Shards {
		ids[i] = sh.ID
	}
	return ids
}
