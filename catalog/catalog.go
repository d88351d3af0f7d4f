// Package catalog holds the shard catalog: data nodes, distributed and
// reference tables, their shards and where each shard is placed, the
// coordinators, and the records of global transactions.
//
// Readers work on immutable, versioned snapshots (*Snapshot), taken with
// one atomic load; every change goes through Store.Apply as a typed,
// versioned Command. RaftStore replicates the commands through a Raft log
// (hashicorp/raft, raft-boltdb), so every coordinator applies the same
// commands in the same order.
package catalog

import (
	"context"
	"errors"
)

// NodeID identifies a data node for the lifetime of the cluster.
type NodeID int32

// NodeState says whether a node takes part in placements.
type NodeState string

const (
	NodeActive   NodeState = "active"
	NodeDraining NodeState = "draining"
	// NodeJoining: a node being added; it receives no placements until
	// its copies of the reference tables are in place.
	NodeJoining NodeState = "joining"
)

// Node is a PostgreSQL data node.
type Node struct {
	ID    NodeID    `json:"id"`
	Name  string    `json:"name"`
	Host  string    `json:"host"`
	Port  int       `json:"port"`
	State NodeState `json:"state"`
}

// Method is how a table's rows are spread over shards.
type Method string

const (
	// MethodHash places a row by the PostgreSQL hash of its distribution
	// column, each shard owning a range of the int32 hash space.
	MethodHash Method = "hash"
	// MethodModulo places a row by its integer distribution value modulo
	// the shard count.
	MethodModulo Method = "modulo"
	// MethodRoundRobin spreads inserted rows over the shards in turn.
	MethodRoundRobin Method = "roundrobin"
	// MethodReplication keeps a full copy of the table on every node.
	MethodReplication Method = "replication"
)

// Table is a logical (client-visible) table.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Method Method `json:"method"`
	// DistColumn is the distribution column for hash and modulo tables.
	DistColumn string `json:"dist_column,omitempty"`
	// DistType is the PostgreSQL type OID of DistColumn.
	DistType     uint32  `json:"dist_type,omitempty"`
	ColocationID uint32  `json:"colocation_id"`
	Shards       []Shard `json:"shards"`
}

// Shard is one physical table on one or more data nodes.
type Shard struct {
	ID    int64 `json:"id"`
	Index int   `json:"index"`
	// MinHash and MaxHash bound the hash range (inclusive) of hash shards.
	MinHash    int32    `json:"min_hash"`
	MaxHash    int32    `json:"max_hash"`
	Placements []NodeID `json:"placements"`
}

// Sentinel errors callers branch on.
var (
	ErrTableExists   = errors.New("catalog: table already exists")
	ErrNoSuchTable   = errors.New("catalog: no such table")
	ErrNoSuchNode    = errors.New("catalog: no such node")
	ErrNodeExists    = errors.New("catalog: node already exists")
	ErrNoActiveNodes = errors.New("catalog: no active data nodes")
	ErrNoSuchShard   = errors.New("catalog: no such shard")
	ErrNodeInUse     = errors.New("catalog: node still holds shard placements")
	// ErrInvalidCommand is returned for a command whose fields are invalid
	// or inconsistent with the catalog (bad names, shard counts, types,
	// colocation requests).
	ErrInvalidCommand    = errors.New("catalog: invalid command")
	ErrNoSuchCoordinator = errors.New("catalog: no such coordinator")
	// ErrTxExists is returned when beginning a global transaction whose
	// ID is already recorded.
	ErrTxExists = errors.New("catalog: global transaction already recorded")
	// ErrTxDecided is returned when deciding a global transaction the
	// other way than it was already decided.
	ErrTxDecided = errors.New("catalog: global transaction already decided")
	// ErrClosed is returned by a Store used after Close.
	ErrClosed = errors.New("catalog: store closed")
)

// Store is the catalog's source of truth; RaftStore implements it.
type Store interface {
	// Snapshot returns the current catalog without blocking writers.
	Snapshot() *Snapshot
	// Apply makes cmd durable and returns the snapshot that includes it.
	Apply(ctx context.Context, cmd Command) (*Snapshot, error)
	Close() error
}
