package catalog

import "sort"

// ShardIndexForHash returns the index in t.Shards of the hash shard whose
// range contains h, or -1 if t is not a hash table. It runs in O(log n).
func (t *Table) ShardIndexForHash(h int32) int {
	if t.Method != MethodHash {
		return -1
	}
	i := sort.Search(len(t.Shards), func(i int) bool { return t.Shards[i].MaxHash >= h })
	if i == len(t.Shards) || t.Shards[i].MinHash > h {
		return -1
	}
	return i
}

// ShardIndexForModulo returns the index in t.Shards of the shard a modulo
// table stores the distribution value v in: the mathematical, non-negative
// remainder of v divided by the shard count. Unlike PostgreSQL's % operator,
// which keeps the sign of v, negative values therefore map to a valid index
// (-7 with 4 shards gives 1, not -3). It returns -1 if t has no shards.
//
// Round-robin writers may use it with an insert counter to pick shards in
// turn.
func (t *Table) ShardIndexForModulo(v int64) int {
	n := int64(len(t.Shards))
	if n == 0 {
		return -1
	}
	r := v % n
	if r < 0 {
		r += n
	}
	return int(r)
}
