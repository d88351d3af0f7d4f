package catalog

import (
	"cmp"
	"slices"
)

const (
	// FirstShardID is the ID of the first shard a catalog creates; later
	// shards get increasing IDs that are never reused.
	FirstShardID int64 = 102008
	// DefaultShardCount is the shard count of a table created with
	// ShardCount 0 and no colocation source.
	DefaultShardCount = 32
	// MaxShardCount is the largest shard count a table may have.
	MaxShardCount = 4096
)

// Snapshot is an immutable, versioned view of the catalog.
//
// A Snapshot is never modified once it has been returned: ApplyCommand
// builds a new one, sharing whatever did not change. The *Table values it
// hands out are shared with later snapshots and must be treated as
// read-only; slices returned by Nodes, ActiveNodes and Tables are the
// caller's own. The zero Snapshot is an empty catalog at version 0.
type Snapshot struct {
	version uint64
	// schemaVersion counts the commands that change what plans depend on
	// (nodes, tables, shards, placements, sequences), not transaction
	// records, coordinators or sequence allocations.
	schemaVersion uint64
	nodes         []Node   // sorted by ID
	tables        []*Table // sorted by schema, then name

	coordinators []Coordinator // sorted by ID
	txs          []GlobalTx    // sorted by ID
	seqs         []Sequence    // sorted by schema, then name
	moves        []Move        // sorted by ID

	// Counters for the next IDs to hand out; values below the first valid
	// ID (as in the zero Snapshot) mean nothing has been allocated yet.
	nextNodeID       NodeID
	nextShardID      int64
	nextColocationID uint32
}

// NewSnapshot returns an empty catalog at version 0.
func NewSnapshot() *Snapshot {
	return &Snapshot{}
}

// Version counts the commands applied to reach this snapshot.
func (s *Snapshot) Version() uint64 {
	return s.version
}

// SchemaVersion changes only when something a plan depends on changes;
// plan caches key on it, so that the commit records of global
// transactions do not make every session plan again.
func (s *Snapshot) SchemaVersion() uint64 {
	return s.schemaVersion
}

// Nodes returns all nodes, sorted by ID.
func (s *Snapshot) Nodes() []Node {
	return slices.Clone(s.nodes)
}

// Node returns the node with the given ID.
func (s *Snapshot) Node(id NodeID) (Node, bool) {
	i, ok := s.nodeIndex(id)
	if !ok {
		return Node{}, false
	}
	return s.nodes[i], true
}

// NodeByName returns the node with the given name.
func (s *Snapshot) NodeByName(name string) (Node, bool) {
	i := s.nodeIndexByName(name)
	if i < 0 {
		return Node{}, false
	}
	return s.nodes[i], true
}

// ActiveNodes returns the nodes that take new placements, sorted by ID.
func (s *Snapshot) ActiveNodes() []Node {
	var active []Node
	for _, n := range s.nodes {
		if n.State == NodeActive {
			active = append(active, n)
		}
	}
	return active
}

// Table returns the table schema.name. The result must not be modified.
func (s *Snapshot) Table(schema, name string) (*Table, bool) {
	i, ok := s.tableIndex(schema, name)
	if !ok {
		return nil, false
	}
	return s.tables[i], true
}

// Tables returns all tables sorted by schema and name. The tables must not
// be modified.
func (s *Snapshot) Tables() []*Table {
	return slices.Clone(s.tables)
}

// ColocatedTables returns the tables with the given colocation ID, sorted by
// schema and name. The tables must not be modified.
func (s *Snapshot) ColocatedTables(colocationID uint32) []*Table {
	var out []*Table
	for _, t := range s.tables {
		if t.ColocationID == colocationID {
			out = append(out, t)
		}
	}
	return out
}

// ShardByID returns the shard with the given ID and the table it belongs
// to. The table must not be modified.
func (s *Snapshot) ShardByID(id int64) (*Table, Shard, bool) {
	t, i, ok := s.findShard(id)
	if !ok {
		return nil, Shard{}, false
	}
	return t, t.Shards[i], true
}

func (s *Snapshot) nodeIndex(id NodeID) (int, bool) {
	return slices.BinarySearchFunc(s.nodes, id, func(n Node, id NodeID) int {
		return cmp.Compare(n.ID, id)
	})
}

func (s *Snapshot) nodeIndexByName(name string) int {
	return slices.IndexFunc(s.nodes, func(n Node) bool { return n.Name == name })
}

func (s *Snapshot) tableIndex(schema, name string) (int, bool) {
	return slices.BinarySearchFunc(s.tables, [2]string{schema, name}, func(t *Table, key [2]string) int {
		return cmp.Or(cmp.Compare(t.Schema, key[0]), cmp.Compare(t.Name, key[1]))
	})
}

// findShard returns the table holding shard id and the shard's index.
func (s *Snapshot) findShard(id int64) (*Table, int, bool) {
	for _, t := range s.tables {
		i, ok := slices.BinarySearchFunc(t.Shards, id, func(sh Shard, id int64) int {
			return cmp.Compare(sh.ID, id)
		})
		if ok {
			return t, i, true
		}
	}
	return nil, 0, false
}

// compareTables orders tables by schema, then name.
func compareTables(a, b *Table) int {
	return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name))
}

// clone returns a copy of s that can be changed without affecting s. Node
// and table slices are copied; tables themselves are shared and must be
// replaced, not modified, through replaceTable.
func (s *Snapshot) clone() *Snapshot {
	c := *s
	c.nodes = slices.Clone(s.nodes)
	c.tables = slices.Clone(s.tables)
	return &c
}
