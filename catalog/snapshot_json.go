package catalog

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SnapshotFormat is the version of the JSON form of a Snapshot.
const SnapshotFormat = 1

// ErrSnapshotFormat is returned when decoding a snapshot written in an
// unknown format.
var ErrSnapshotFormat = errors.New("catalog: unsupported snapshot format")

// snapshotJSON is the JSON form of a Snapshot.
type snapshotJSON struct {
	Format           int           `json:"format"`
	Version          uint64        `json:"version"`
	SchemaVersion    uint64        `json:"schema_version,omitempty"`
	NextNodeID       NodeID        `json:"next_node_id"`
	NextShardID      int64         `json:"next_shard_id"`
	NextColocationID uint32        `json:"next_colocation_id"`
	Nodes            []Node        `json:"nodes"`
	Tables           []*Table      `json:"tables"`
	Coordinators     []Coordinator `json:"coordinators,omitempty"`
	Transactions     []GlobalTx    `json:"transactions,omitempty"`
	Sequences        []Sequence    `json:"sequences,omitempty"`
	Moves            []Move        `json:"moves,omitempty"`
}

// MarshalJSON encodes the whole catalog, including its ID counters.
func (s *Snapshot) MarshalJSON() ([]byte, error) {
	return json.Marshal(snapshotJSON{
		Format:           SnapshotFormat,
		Version:          s.version,
		SchemaVersion:    s.schemaVersion,
		NextNodeID:       s.nextNodeID,
		NextShardID:      s.nextShardID,
		NextColocationID: s.nextColocationID,
		Nodes:            orEmpty(s.nodes),
		Tables:           orEmpty(s.tables),
		Coordinators:     s.coordinators,
		Transactions:     s.txs,
		Sequences:        s.seqs,
		Moves:            s.moves,
	})
}

// UnmarshalJSON decodes a catalog written by MarshalJSON and checks its
// consistency. It is meant for decoding into a new Snapshot: a snapshot
// that has been handed to readers must not be decoded into.
func (s *Snapshot) UnmarshalJSON(data []byte) error {
	var j snapshotJSON
	if err := decodeStrict(data, &j); err != nil {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	if j.Format != SnapshotFormat {
		return fmt.Errorf("decode snapshot: format %d: %w", j.Format, ErrSnapshotFormat)
	}
	d := Snapshot{
		version:          j.Version,
		schemaVersion:    j.SchemaVersion,
		nodes:            j.Nodes,
		tables:           j.Tables,
		nextNodeID:       j.NextNodeID,
		nextShardID:      j.NextShardID,
		nextColocationID: j.NextColocationID,
		coordinators:     j.Coordinators,
		txs:              j.Transactions,
		seqs:             j.Sequences,
		moves:            j.Moves,
	}
	if len(d.nodes) == 0 {
		d.nodes = nil
	}
	if len(d.tables) == 0 {
		d.tables = nil
	}
	if slices.Contains(d.tables, nil) {
		return fmt.Errorf("decode snapshot: null table")
	}
	slices.SortFunc(d.nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.tables, compareTables)
	slices.SortFunc(d.coordinators, func(a, b Coordinator) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.txs, func(a, b GlobalTx) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.moves, func(a, b Move) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.seqs, func(a, b Sequence) int {
		return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name))
	})
	if err := d.check(); err != nil {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	*s = d
	return nil
}

// orEmpty returns s, or an empty slice if s is nil, so that it encodes
// as [] rather than null.
func orEmpty[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}
