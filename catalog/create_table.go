package catalog

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// createTable adds a table with its shards and placements:
//
//   - Shard IDs come from a catalog-wide counter starting at FirstShardID.
//   - A hash table's shards split the int32 hash space into equal ranges
//     (the last also takes the remainder); other tables' shards have the
//     range 0..0.
//   - A reference table has one shard, placed on every active node.
//   - Otherwise shard i is placed on the i%n-th of the n active nodes
//     (sorted by ID), unless the table joins an existing colocation group,
//     in which case it copies that group's current placements shard by
//     shard.
func (s *Snapshot) createTable(c CreateTable) error {
	if _, ok := s.tableIndex(c.Schema, c.Name); ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Name, ErrTableExists)
	}
	active := s.ActiveNodes()
	if len(active) == 0 {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Name, ErrNoActiveNodes)
	}
	t := &Table{
		Schema:     c.Schema,
		Name:       c.Name,
		Method:     c.Method,
		DistColumn: c.DistColumn,
		DistType:   c.DistType,
	}
	switch c.Method {
	case MethodReplication:
		t.ColocationID = s.referenceColocationID()
		placements := make([]NodeID, len(active))
		for i, n := range active {
			placements[i] = n.ID
		}
		t.Shards = []Shard{{ID: s.allocShardID(), Placements: placements}}
	case MethodRoundRobin:
		t.ColocationID = s.allocColocationID()
		t.Shards = s.newShards(c.Method, cmp.Or(c.ShardCount, DefaultShardCount), active, nil)
	default:
		source, count, err := s.colocationSource(c)
		if err != nil {
			return err
		}
		if source != nil {
			t.ColocationID = source.ColocationID
		} else {
			t.ColocationID = s.allocColocationID()
		}
		t.Shards = s.newShards(c.Method, count, active, source)
	}
	s.insertTable(t)
	return nil
}

// newShards allocates count shards for a table of the given method, copying
// placements from source if it is not nil.
func (s *Snapshot) newShards(method Method, count int, active []Node, source *Table) []Shard {
	shards := make([]Shard, count)
	for i := range shards {
		sh := Shard{ID: s.allocShardID(), Index: i}
		if method == MethodHash {
			sh.MinHash, sh.MaxHash = hashRange(i, count)
		}
		if source != nil {
			sh.Placements = slices.Clone(source.Shards[i].Placements)
		} else {
			sh.Placements = []NodeID{active[i%len(active)].ID}
		}
		shards[i] = sh
	}
	return shards
}

// hashRange returns the inclusive hash range of shard i of count: the int32
// space is cut into count ranges of width 2^32/count, the last one
// extending to MaxInt32.
func hashRange(i, count int) (minHash, maxHash int32) {
	width := (int64(1) << 32) / int64(count)
	lo := int64(math.MinInt32) + int64(i)*width
	hi := lo + width - 1
	if i == count-1 {
		hi = math.MaxInt32
	}
	return int32(lo), int32(hi)
}

func (s *Snapshot) allocShardID() int64 {
	s.nextShardID = max(s.nextShardID, FirstShardID)
	id := s.nextShardID
	s.nextShardID++
	return id
}

func (s *Snapshot) allocColocationID() uint32 {
	s.nextColocationID = max(s.nextColocationID, 1)
	id := s.nextColocationID
	s.nextColocationID++
	return id
}

// referenceColocationID returns the colocation ID all reference tables
// share, allocating it for the first one.
func (s *Snapshot) referenceColocationID() uint32 {
	for _, t := range s.tables {
		if t.Method == MethodReplication {
			return t.ColocationID
		}
	}
	return s.allocColocationID()
}
