package catalog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// linearShardIndex is the obvious O(n) reference for ShardIndexForHash.
func linearShardIndex(t *Table, h int32) int {
	for i, sh := range t.Shards {
		if sh.MinHash <= h && h <= sh.MaxHash {
			return i
		}
	}
	return -1
}

func TestShardIndexForHashMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, count := range []int{1, 2, 3, 5, 32, 33, 1000, MaxShardCount} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			s := mustApply(t, withNodes(t, 2), hashTable("t", OIDInt4, count))
			tbl := mustTable(t, s, "public", "t")
			values := []int32{math.MinInt32, math.MaxInt32, 0, -1, 1}
			for _, sh := range tbl.Shards {
				values = append(values, sh.MinHash, sh.MaxHash)
			}
			for range 10000 {
				values = append(values, int32(rng.Uint32()))
			}
			for _, h := range values {
				got, want := tbl.ShardIndexForHash(h), linearShardIndex(tbl, h)
				if got != want || got < 0 {
					t.Fatalf("ShardIndexForHash(%d) = %d, linear scan gives %d", h, got, want)
				}
			}
		})
	}
}

func TestShardIndexForHashNonHashTable(t *testing.T) {
	s := mustApply(t, withNodes(t, 1), CreateTable{Schema: "s", Name: "r", Method: MethodRoundRobin, ShardCount: 4})
	if got := mustTable(t, s, "s", "r").ShardIndexForHash(0); got != -1 {
		t.Errorf("ShardIndexForHash on a roundrobin table = %d, want -1", got)
	}
}

func TestShardIndexForModulo(t *testing.T) {
	s := mustApply(t, withNodes(t, 1),
		CreateTable{Schema: "s", Name: "m", Method: MethodModulo, DistColumn: "k", DistType: OIDInt8, ShardCount: 4})
	tbl := mustTable(t, s, "s", "m")
	tests := []struct {
		v    int64
		want int
	}{
		{0, 0},
		{1, 1},
		{4, 0},
		{7, 3},
		{-1, 3},
		{-4, 0},
		{-7, 1},
		{math.MaxInt64, 3},
		{math.MinInt64, 0},
		{math.MinInt64 + 1, 1},
	}
	for _, tc := range tests {
		if got := tbl.ShardIndexForModulo(tc.v); got != tc.want {
			t.Errorf("ShardIndexForModulo(%d) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if got := (&Table{}).ShardIndexForModulo(5); got != -1 {
		t.Errorf("ShardIndexForModulo without shards = %d, want -1", got)
	}
}
