package shardmove

import (
	"fmt"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	"github.com/distgres/distgres/sqlquote"
)

// shardTable is one shard of a move: its ID, logical table and the shard
// table's name on the data nodes.
type shardTable struct {
	id     int64
	table  string // schema-qualified logical name, for messages
	schema string
	name   string
}

// quoted is the shard table's quoted, schema-qualified name.
func (s shardTable) quoted() string { return sqlquote.Ident(s.schema) + "." + sqlquote.Ident(s.name) }

// move is a move resolved against a catalog snapshot.
type move struct {
	id             string
	shards         []shardTable
	source, target catalog.Node
	copy           bool
}

func (mv move) shardIDs() []int64 {
	ids := make([]int64, len(mv.shards))
	for i, s := range mv.shards {
		ids[i] = s.id
	}
	return ids
}

// marker is the quoted name of the move's marker table: a row inserted
// into it on the source and seen on the target shows that the target has
// applied every transaction the source committed before it.
func (mv move) marker() string {
	return markerTable(mv.shards[0].schema, mv.id)
}

func markerTable(schema, id string) string {
	return sqlquote.Ident(schema) + "." + sqlquote.Ident(objectName(id))
}

// tableList is the shard tables as a comma-separated SQL list.
func (mv move) tableList() string {
	names := make([]string, len(mv.shards))
	for i, s := range mv.shards {
		names[i] = s.quoted()
	}
	return strings.Join(names, ", ")
}

// shardTables resolves shard IDs to shard tables; shards no longer in the
// catalog (their table was dropped) are left out.
func shardTables(snap *catalog.Snapshot, ids []int64) []shardTable {
	var out []shardTable
	for _, id := range ids {
		t, sh, ok := snap.ShardByID(id)
		if !ok {
			continue
		}
		out = append(out, shardTable{id: id, table: t.QualifiedName(), schema: t.Schema, name: planner.ShardTableName(t, sh)})
	}
	return out
}

// groupOf returns the shard group of shard id: the shard with the same
// index of every table colocated with it, all on the same node.
func groupOf(snap *catalog.Snapshot, id int64) ([]int64, catalog.NodeID, error) {
	t, sh, ok := snap.ShardByID(id)
	if !ok {
		return nil, 0, pgerr.New(pgerr.UndefinedObject, "shard %d does not exist", id)
	}
	if t.Method == catalog.MethodReplication {
		return nil, 0, pgerr.New(pgerr.FeatureNotSupported, "shard %d belongs to reference table %s, which has a copy on every node", id, t.QualifiedName())
	}
	if len(sh.Placements) != 1 {
		return nil, 0, pgerr.New(pgerr.ObjectNotInPrerequisiteState, "shard %d has %d placements; a move needs exactly one", id, len(sh.Placements))
	}
	source := sh.Placements[0]
	var ids []int64
	for _, ct := range snap.ColocatedTables(t.ColocationID) {
		if sh.Index >= len(ct.Shards) {
			continue
		}
		other := ct.Shards[sh.Index]
		if len(other.Placements) != 1 || other.Placements[0] != source {
			return nil, 0, pgerr.New(pgerr.ObjectNotInPrerequisiteState, "shard %d of %s is not on the same node as shard %d of %s", other.ID, ct.QualifiedName(), id, t.QualifiedName())
		}
		ids = append(ids, other.ID)
	}
	return ids, source, nil
}

// nodeNamed returns the node called name.
func nodeNamed(snap *catalog.Snapshot, name string) (catalog.Node, error) {
	n, ok := snap.NodeByName(name)
	if !ok {
		return catalog.Node{}, pgerr.New(pgerr.UndefinedObject, "data node %q does not exist", name).WithHint("distgresctl node list shows the nodes.")
	}
	return n, nil
}

func nodeByID(snap *catalog.Snapshot, id catalog.NodeID) (catalog.Node, error) {
	n, ok := snap.Node(id)
	if !ok {
		return catalog.Node{}, fmt.Errorf("data node %d is not in the catalog: %w", id, catalog.ErrNoSuchNode)
	}
	return n, nil
}
