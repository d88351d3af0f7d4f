package catalog

import (
	"fmt"
	"math"
)

// check verifies the invariants ApplyCommand maintains, for snapshots read
// from outside (files, replicated snapshots).
func (s *Snapshot) check() error {
	names := make(map[string]bool, len(s.nodes))
	for i, n := range s.nodes {
		switch {
		case n.ID < 1 || n.ID >= s.nextNodeID:
			return fmt.Errorf("node %q: id %d outside 1..%d", n.Name, n.ID, s.nextNodeID-1)
		case i > 0 && s.nodes[i-1].ID == n.ID:
			return fmt.Errorf("duplicate node id %d", n.ID)
		case n.Name == "" || names[n.Name]:
			return fmt.Errorf("node %d: empty or duplicate name %q", n.ID, n.Name)
		case n.State != NodeActive && n.State != NodeDraining && n.State != NodeJoining:
			return fmt.Errorf("node %q: unknown state %q", n.Name, n.State)
		}
		names[n.Name] = true
	}
	for i, c := range s.coordinators {
		if c.ID == "" || i > 0 && s.coordinators[i-1].ID == c.ID {
			return fmt.Errorf("empty or duplicate coordinator id %q", c.ID)
		}
	}
	for i, t := range s.txs {
		switch {
		case !validTxID(t.ID) || i > 0 && s.txs[i-1].ID == t.ID:
			return fmt.Errorf("invalid or duplicate global transaction id %q", t.ID)
		case t.State != TxPending && t.State != TxCommitted && t.State != TxAborted:
			return fmt.Errorf("global transaction %s: unknown state %q", t.ID, t.State)
		}
	}
	for i, m := range s.moves {
		switch {
		case !validTxID(m.ID) || i > 0 && s.moves[i-1].ID == m.ID:
			return fmt.Errorf("invalid or duplicate move id %q", m.ID)
		case m.State != MoveCopying && m.State != MoveFrozen && m.State != MoveSwitched && m.State != MoveAborted:
			return fmt.Errorf("move %s: unknown state %q", m.ID, m.State)
		}
	}
	shardIDs := make(map[int64]bool)
	for i, t := range s.tables {
		if i > 0 && compareTables(s.tables[i-1], t) == 0 {
			return fmt.Errorf("duplicate table %s", t.QualifiedName())
		}
		if err := s.checkTable(t, shardIDs); err != nil {
			return fmt.Errorf("table %s: %w", t.QualifiedName(), err)
		}
	}
	return nil
}

func (s *Snapshot) checkTable(t *Table, shardIDs map[int64]bool) error {
	switch {
	case t.Schema == "" || t.Name == "":
		return fmt.Errorf("empty name")
	case t.Method != MethodHash && t.Method != MethodModulo &&
		t.Method != MethodRoundRobin && t.Method != MethodReplication:
		return fmt.Errorf("unknown method %q", t.Method)
	case len(t.Shards) == 0 || len(t.Shards) > MaxShardCount:
		return fmt.Errorf("%d shards", len(t.Shards))
	case t.ColocationID < 1 || t.ColocationID >= s.nextColocationID:
		return fmt.Errorf("colocation id %d outside 1..%d", t.ColocationID, s.nextColocationID-1)
	}
	for i, sh := range t.Shards {
		switch {
		case sh.Index != i:
			return fmt.Errorf("shard %d has index %d at position %d", sh.ID, sh.Index, i)
		case sh.ID < FirstShardID || sh.ID >= s.nextShardID || shardIDs[sh.ID]:
			return fmt.Errorf("shard id %d duplicate or outside %d..%d", sh.ID, FirstShardID, s.nextShardID-1)
		case i > 0 && sh.ID < t.Shards[i-1].ID:
			return fmt.Errorf("shard ids not increasing at %d", sh.ID)
		case len(sh.Placements) == 0:
			return fmt.Errorf("shard %d has no placements", sh.ID)
		}
		shardIDs[sh.ID] = true
		for _, id := range sh.Placements {
			if _, ok := s.nodeIndex(id); !ok {
				return fmt.Errorf("shard %d placed on node %d: %w", sh.ID, id, ErrNoSuchNode)
			}
		}
	}
	if t.Method == MethodHash {
		return checkHashRanges(t.Shards)
	}
	return nil
}

// checkHashRanges verifies that the shards' hash ranges tile the int32
// space in order, which ShardIndexForHash relies on.
func checkHashRanges(shards []Shard) error {
	next := int64(math.MinInt32)
	for _, sh := range shards {
		if int64(sh.MinHash) != next || sh.MaxHash < sh.MinHash {
			return fmt.Errorf("shard %d: hash range %d..%d does not start at %d", sh.ID, sh.MinHash, sh.MaxHash, next)
		}
		next = int64(sh.MaxHash) + 1
	}
	if next != math.MaxInt32+1 {
		return fmt.Errorf("hash ranges end at %d, not %d", next-1, math.MaxInt32)
	}
	return nil
}
