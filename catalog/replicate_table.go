package catalog

import (
	"fmt"
	"slices"
)

// ReplicateTable turns a distributed table into a reference table placed
// on Nodes. Its one shard keeps the ID of the table's first shard, so the
// shard table there keeps its name (the data nodes' part of the change is
// the caller's: the table must be empty, its other shards dropped and the
// first one copied to the nodes that lacked it). A unique index that does
// not include the distribution column needs this: only a full copy on
// every node can enforce it.
type ReplicateTable struct {
	Schema string   `json:"schema"`
	Name   string   `json:"name"`
	Nodes  []NodeID `json:"nodes"`
}

const KindReplicateTable = "replicate_table"

func (ReplicateTable) Kind() string { return KindReplicateTable }
func (ReplicateTable) Version() int { return 1 }

func (c ReplicateTable) validate() error {
	if err := validateTableName(c.Schema, c.Name); err != nil {
		return err
	}
	if len(c.Nodes) == 0 {
		return invalidf("table %s.%s: no nodes to place the reference table on", c.Schema, c.Name)
	}
	return nil
}

func (s *Snapshot) replicateTable(c ReplicateTable) error {
	i, ok := s.tableIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Name, ErrNoSuchTable)
	}
	old := s.tables[i]
	if old.Method == MethodReplication {
		return invalidf("table %s is a reference table already", old.QualifiedName())
	}
	for _, id := range c.Nodes {
		if _, ok := s.nodeIndex(id); !ok {
			return fmt.Errorf("table %s: node %d: %w", old.QualifiedName(), id, ErrNoSuchNode)
		}
	}
	placements := slices.Clone(c.Nodes)
	slices.Sort(placements)
	t := &Table{Schema: old.Schema, Name: old.Name, Method: MethodReplication,
		ColocationID: s.referenceColocationID(),
		Shards:       []Shard{{ID: old.Shards[0].ID, Placements: slices.Compact(placements)}}}
	s.tables[i] = t
	return nil
}
