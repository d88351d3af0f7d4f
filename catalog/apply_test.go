package catalog

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// mustApply applies cmds in order, failing the test on the first error.
func mustApply(t testing.TB, s *Snapshot, cmds ...Command) *Snapshot {
	t.Helper()
	for _, cmd := range cmds {
		next, err := ApplyCommand(s, cmd)
		if err != nil {
			t.Fatalf("ApplyCommand(%#v): %v", cmd, err)
		}
		s = next
	}
	return s
}

// withNodes returns a catalog with n active nodes dn1..dnN (IDs 1..n).
func withNodes(t testing.TB, n int) *Snapshot {
	t.Helper()
	s := NewSnapshot()
	for i := 1; i <= n; i++ {
		s = mustApply(t, s, AddNode{Name: fmt.Sprintf("dn%d", i), Host: "10.0.0.1", Port: 5431 + i})
	}
	return s
}

func mustTable(t testing.TB, s *Snapshot, schema, name string) *Table {
	t.Helper()
	tbl, ok := s.Table(schema, name)
	if !ok {
		t.Fatalf("table %s.%s not found", schema, name)
	}
	return tbl
}

func hashTable(name string, typ uint32, shards int) CreateTable {
	return CreateTable{Schema: "public", Name: name, Method: MethodHash, DistColumn: "id", DistType: typ, ShardCount: shards}
}

func TestApplyVersionAndNodes(t *testing.T) {
	s := withNodes(t, 3)
	if got := s.Version(); got != 3 {
		t.Errorf("Version() = %d, want 3", got)
	}
	s = mustApply(t, s, SetNodeState{Name: "dn2", State: NodeDraining}, RemoveNode{Name: "dn1"},
		AddNode{Name: "dn4", Host: "10.0.0.4", Port: 5432})
	var ids []NodeID
	for _, n := range s.Nodes() {
		ids = append(ids, n.ID)
	}
	if want := []NodeID{2, 3, 4}; !slices.Equal(ids, want) {
		t.Errorf("node IDs = %v, want %v (IDs are not reused)", ids, want)
	}
	if n, ok := s.NodeByName("dn2"); !ok || n.State != NodeDraining || n.ID != 2 {
		t.Errorf("NodeByName(dn2) = %+v, %v", n, ok)
	}
	if n, ok := s.Node(4); !ok || n.Name != "dn4" || n.State != NodeActive {
		t.Errorf("Node(4) = %+v, %v", n, ok)
	}
	if _, ok := s.Node(1); ok {
		t.Errorf("Node(1) found after removal")
	}
	active := s.ActiveNodes()
	if len(active) != 2 || active[0].ID != 3 || active[1].ID != 4 {
		t.Errorf("ActiveNodes() = %+v, want nodes 3 and 4", active)
	}
}

func TestCreateHashTableRanges(t *testing.T) {
	for _, count := range []int{1, 2, 3, 7, 32, 100, 1000, MaxShardCount} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			s := mustApply(t, withNodes(t, 3), hashTable("t", OIDInt4, count))
			tbl := mustTable(t, s, "public", "t")
			if len(tbl.Shards) != count {
				t.Fatalf("%d shards, want %d", len(tbl.Shards), count)
			}
			width := int64(1<<32) / int64(count)
			next := int64(math.MinInt32)
			for i, sh := range tbl.Shards {
				if sh.Index != i || sh.ID != FirstShardID+int64(i) {
					t.Fatalf("shard %d: index %d, id %d", i, sh.Index, sh.ID)
				}
				if int64(sh.MinHash) != next {
					t.Fatalf("shard %d starts at %d, want %d", i, sh.MinHash, next)
				}
				got := int64(sh.MaxHash) - int64(sh.MinHash) + 1
				want := width
				if i == count-1 {
					want = int64(math.MaxInt32) - int64(sh.MinHash) + 1
				}
				if got != want {
					t.Fatalf("shard %d width %d, want %d", i, got, want)
				}
				next = int64(sh.MaxHash) + 1
			}
			if next != int64(math.MaxInt32)+1 {
				t.Fatalf("ranges end at %d", next-1)
			}
		})
	}
}

func TestCreateTableShardsAndPlacements(t *testing.T) {
	tests := []struct {
		name      string
		cmd       CreateTable
		shards    int
		wantRange bool
	}{
		{"hash default count", hashTable("h", OIDInt8, 0), DefaultShardCount, true},
		{"modulo", CreateTable{Schema: "s", Name: "m", Method: MethodModulo, DistColumn: "k", DistType: OIDInt4, ShardCount: 10}, 10, false},
		{"roundrobin", CreateTable{Schema: "s", Name: "r", Method: MethodRoundRobin, ShardCount: 5}, 5, false},
		{"roundrobin default", CreateTable{Schema: "s", Name: "r", Method: MethodRoundRobin}, DefaultShardCount, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := withNodes(t, 3)
			s = mustApply(t, s, SetNodeState{Name: "dn2", State: NodeDraining}, AddNode{Name: "dn4", Host: "h4", Port: 5432})
			s = mustApply(t, s, tc.cmd)
			tbl := mustTable(t, s, tc.cmd.Schema, tc.cmd.Name)
			if len(tbl.Shards) != tc.shards {
				t.Fatalf("%d shards, want %d", len(tbl.Shards), tc.shards)
			}
			active := []NodeID{1, 3, 4}
			perNode := map[NodeID]int{}
			for i, sh := range tbl.Shards {
				if want := []NodeID{active[i%len(active)]}; !slices.Equal(sh.Placements, want) {
					t.Errorf("shard %d placed on %v, want %v", i, sh.Placements, want)
				}
				perNode[sh.Placements[0]]++
				if !tc.wantRange && (sh.MinHash != 0 || sh.MaxHash != 0) {
					t.Errorf("shard %d has hash range %d..%d", i, sh.MinHash, sh.MaxHash)
				}
			}
			lo, hi := tc.shards, 0
			for _, id := range active {
				lo, hi = min(lo, perNode[id]), max(hi, perNode[id])
			}
			if hi-lo > 1 {
				t.Errorf("uneven placement %v", perNode)
			}
		})
	}
}

func TestShardIDsIncreaseAcrossTables(t *testing.T) {
	s := mustApply(t, withNodes(t, 2),
		hashTable("a", OIDInt4, 4),
		CreateTable{Schema: "public", Name: "ref", Method: MethodReplication},
		DropTable{Schema: "public", Name: "a"},
		hashTable("b", OIDInt4, 2),
	)
	var ids []int64
	for _, tbl := range s.Tables() {
		for _, sh := range tbl.Shards {
			ids = append(ids, sh.ID)
		}
	}
	// Tables() is sorted by name: b, ref. a's IDs are not reused.
	if want := []int64{102013, 102014, 102012}; !slices.Equal(ids, want) {
		t.Errorf("shard IDs = %v, want %v", ids, want)
	}
}

func TestReferenceTable(t *testing.T) {
	s := withNodes(t, 4)
	s = mustApply(t, s,
		SetNodeState{Name: "dn3", State: NodeDraining},
		hashTable("dist", OIDInt4, 4),
		CreateTable{Schema: "public", Name: "ref1", Method: MethodReplication},
		CreateTable{Schema: "public", Name: "ref2", Method: MethodReplication, ShardCount: 1},
	)
	ref1 := mustTable(t, s, "public", "ref1")
	ref2 := mustTable(t, s, "public", "ref2")
	dist := mustTable(t, s, "public", "dist")
	if len(ref1.Shards) != 1 {
		t.Fatalf("reference table has %d shards", len(ref1.Shards))
	}
	if want := []NodeID{1, 2, 4}; !slices.Equal(ref1.Shards[0].Placements, want) {
		t.Errorf("reference placements = %v, want %v", ref1.Shards[0].Placements, want)
	}
	if ref1.ColocationID == dist.ColocationID {
		t.Errorf("reference table shares colocation %d with a hash table", ref1.ColocationID)
	}
	if ref1.ColocationID != ref2.ColocationID {
		t.Errorf("reference tables in colocations %d and %d, want one", ref1.ColocationID, ref2.ColocationID)
	}
	if !ref1.IsReference() || dist.IsReference() {
		t.Errorf("IsReference wrong")
	}
}

func TestColocationGroups(t *testing.T) {
	s := mustApply(t, withNodes(t, 3),
		hashTable("i4a", OIDInt4, 32),
		hashTable("i4b", OIDInt4, 32),
		hashTable("i8", OIDInt8, 32),
		hashTable("i2", OIDInt2, 32),
		hashTable("i4_16", OIDInt4, 16),
		CreateTable{Schema: "other", Name: "m4", Method: MethodModulo, DistColumn: "id", DistType: OIDInt4, ShardCount: 32},
		CreateTable{Schema: "other", Name: "m4b", Method: MethodModulo, DistColumn: "x", DistType: OIDInt4, ShardCount: 32},
		hashTable("txt", OIDText, 32),
		hashTable("vc", OIDVarchar, 32),
		hashTable("bpc", OIDBPChar, 32),
		hashTable("uuid", OIDUUID, 0),
		CreateTable{Schema: "public", Name: "rr1", Method: MethodRoundRobin, ShardCount: 32},
		CreateTable{Schema: "public", Name: "rr2", Method: MethodRoundRobin, ShardCount: 32},
	)
	id := func(schema, name string) uint32 { return mustTable(t, s, schema, name).ColocationID }
	same := [][2]string{
		{"i4a", "i4b"},
		{"txt", "vc"},
	}
	for _, p := range same {
		if id("public", p[0]) != id("public", p[1]) {
			t.Errorf("%s and %s not colocated", p[0], p[1])
		}
	}
	if id("other", "m4") != id("other", "m4b") {
		t.Errorf("modulo tables not colocated")
	}
	groups := map[uint32]string{}
	for _, name := range []string{"i4a", "i8", "i2", "i4_16", "txt", "bpc", "uuid", "rr1", "rr2"} {
		g := id("public", name)
		if other, dup := groups[g]; dup {
			t.Errorf("%s and %s share colocation %d", name, other, g)
		}
		groups[g] = name
	}
	if _, dup := groups[id("other", "m4")]; dup {
		t.Errorf("modulo table shares a hash table's colocation")
	}
	// IDs are handed out in creation order.
	if id("public", "i4a") != 1 || id("public", "i8") != 2 || id("public", "rr2") != 10 {
		t.Errorf("colocation IDs not assigned in order: i4a=%d i8=%d rr2=%d",
			id("public", "i4a"), id("public", "i8"), id("public", "rr2"))
	}
	if got := s.ColocatedTables(id("public", "txt")); len(got) != 2 || got[0].Name != "txt" || got[1].Name != "vc" {
		t.Errorf("ColocatedTables(txt) = %v", got)
	}
}

func TestColocationFollowsPlacements(t *testing.T) {
	s := mustApply(t, withNodes(t, 2), hashTable("a", OIDInt8, 4))
	a := mustTable(t, s, "public", "a")
	s = mustApply(t, s,
		AddNode{Name: "dn3", Host: "h3", Port: 5432},
		SetPlacement{ShardID: a.Shards[0].ID, Nodes: []NodeID{3}},
		SetPlacement{ShardID: a.Shards[1].ID, Nodes: []NodeID{3, 1}},
		hashTable("b", OIDInt8, 4),
		CreateTable{Schema: "public", Name: "c", Method: MethodHash, DistColumn: "id", DistType: OIDInt8, ColocateWith: "a"},
	)
	a = mustTable(t, s, "public", "a")
	for _, name := range []string{"b", "c"} {
		tbl := mustTable(t, s, "public", name)
		if tbl.ColocationID != a.ColocationID {
			t.Errorf("%s colocation %d, want %d", name, tbl.ColocationID, a.ColocationID)
		}
		for i, sh := range tbl.Shards {
			if !slices.Equal(sh.Placements, a.Shards[i].Placements) {
				t.Errorf("%s shard %d on %v, want %v", name, i, sh.Placements, a.Shards[i].Placements)
			}
			if sh.MinHash != a.Shards[i].MinHash || sh.MaxHash != a.Shards[i].MaxHash {
				t.Errorf("%s shard %d range differs", name, i)
			}
		}
	}
}

func TestColocateWith(t *testing.T) {
	base := mustApply(t, withNodes(t, 2),
		hashTable("a", OIDInt4, 8),
		CreateTable{Schema: "s2", Name: "m", Method: MethodModulo, DistColumn: "id", DistType: OIDInt4, ShardCount: 8},
		hashTable("t", OIDText, 8),
	)
	tests := []struct {
		name    string
		cmd     CreateTable
		wantErr error
		group   string // table whose colocation the new one should have
	}{
		{"inherit shard count", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt4, ColocateWith: "public.a"}, nil, "a"},
		{"same schema shorthand", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt4, ShardCount: 8, ColocateWith: "a"}, nil, "a"},
		{"varchar with text", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDVarchar, ColocateWith: "t"}, nil, "t"},
		{"shard count differs", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt4, ShardCount: 4, ColocateWith: "a"}, ErrInvalidCommand, ""},
		{"family differs", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt8, ColocateWith: "a"}, ErrInvalidCommand, ""},
		{"method differs", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt4, ColocateWith: "s2.m"}, ErrInvalidCommand, ""},
		{"missing table", CreateTable{Schema: "public", Name: "n", Method: MethodHash, DistColumn: "x", DistType: OIDInt4, ColocateWith: "s2.a"}, ErrNoSuchTable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ApplyCommand(base, tc.cmd)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ApplyCommand error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got := mustTable(t, s, "public", "n")
			want := mustTable(t, s, "public", tc.group)
			if got.ColocationID != want.ColocationID || len(got.Shards) != len(want.Shards) {
				t.Errorf("colocation %d with %d shards, want %d with %d",
					got.ColocationID, len(got.Shards), want.ColocationID, len(want.Shards))
			}
		})
	}
}

func TestRenames(t *testing.T) {
	s := mustApply(t, withNodes(t, 1),
		hashTable("b", OIDInt4, 2),
		hashTable("c", OIDInt4, 2),
		RenameTable{Schema: "public", Name: "c", NewName: "a"},
		RenameColumn{Schema: "public", Table: "a", Column: "id", NewName: "key"},
		RenameColumn{Schema: "public", Table: "b", Column: "other", NewName: "x"},
	)
	if s.Version() != 6 {
		t.Errorf("Version() = %d, want 6", s.Version())
	}
	if _, ok := s.Table("public", "c"); ok {
		t.Errorf("old name still present")
	}
	tables := s.Tables()
	if len(tables) != 2 || tables[0].Name != "a" || tables[1].Name != "b" {
		t.Fatalf("Tables() = %v, want a, b", tables)
	}
	if tables[0].DistColumn != "key" || tables[0].Shards[0].ID != FirstShardID+2 {
		t.Errorf("renamed table = %+v", tables[0])
	}
	if tables[1].DistColumn != "id" {
		t.Errorf("renaming another column changed the dist column to %q", tables[1].DistColumn)
	}
}

func TestShardByIDAndSetPlacement(t *testing.T) {
	s := mustApply(t, withNodes(t, 3), hashTable("a", OIDInt4, 4), hashTable("b", OIDInt8, 4))
	s = mustApply(t, s, SetPlacement{ShardID: FirstShardID + 6, Nodes: []NodeID{3, 2}})
	tbl, sh, ok := s.ShardByID(FirstShardID + 6)
	if !ok || tbl.Name != "b" || sh.Index != 2 || !slices.Equal(sh.Placements, []NodeID{3, 2}) {
		t.Errorf("ShardByID = %v, %+v, %v", tbl, sh, ok)
	}
	if _, _, ok := s.ShardByID(FirstShardID + 8); ok {
		t.Errorf("ShardByID found a shard that does not exist")
	}
	// The colocated shard of a is unaffected.
	if _, sh, _ := s.ShardByID(FirstShardID + 2); !slices.Equal(sh.Placements, []NodeID{3}) {
		t.Errorf("colocated shard moved to %v", sh.Placements)
	}
}

func TestApplyErrors(t *testing.T) {
	base := mustApply(t, withNodes(t, 2), hashTable("a", OIDInt4, 4))
	tests := []struct {
		name string
		cmd  Command
		want error
	}{
		{"nil command", nil, ErrUnknownCommand},
		{"nil pointer command", (*DropTable)(nil), ErrUnknownCommand},
		{"duplicate node name", AddNode{Name: "dn1", Host: "x", Port: 1}, ErrNodeExists},
		{"duplicate node address", AddNode{Name: "dn9", Host: "10.0.0.1", Port: 5432}, ErrNodeExists},
		{"empty node name", AddNode{Host: "x", Port: 1}, ErrInvalidCommand},
		{"bad port", AddNode{Name: "x", Host: "x", Port: 70000}, ErrInvalidCommand},
		{"remove unknown node", RemoveNode{Name: "dn9"}, ErrNoSuchNode},
		{"remove node in use", RemoveNode{Name: "dn1"}, ErrNodeInUse},
		{"bad node state", SetNodeState{Name: "dn1", State: "gone"}, ErrInvalidCommand},
		{"state of unknown node", SetNodeState{Name: "dn9", State: NodeDraining}, ErrNoSuchNode},
		{"table exists", hashTable("a", OIDInt8, 4), ErrTableExists},
		{"too many shards", hashTable("n", OIDInt4, MaxShardCount+1), ErrInvalidCommand},
		{"negative shards", hashTable("n", OIDInt4, -1), ErrInvalidCommand},
		{"empty schema", CreateTable{Name: "n", Method: MethodReplication}, ErrInvalidCommand},
		{"empty table name", CreateTable{Schema: "s", Method: MethodReplication}, ErrInvalidCommand},
		{"no dist column", CreateTable{Schema: "s", Name: "n", Method: MethodHash, DistType: OIDInt4}, ErrInvalidCommand},
		{"unhashable type", CreateTable{Schema: "s", Name: "n", Method: MethodHash, DistColumn: "x", DistType: 1700}, ErrUnhashableType},
		{"modulo on text", CreateTable{Schema: "s", Name: "n", Method: MethodModulo, DistColumn: "x", DistType: OIDText}, ErrInvalidCommand},
		{"unknown method", CreateTable{Schema: "s", Name: "n", Method: "range"}, ErrInvalidCommand},
		{"replicated with shards", CreateTable{Schema: "s", Name: "n", Method: MethodReplication, ShardCount: 2}, ErrInvalidCommand},
		{"reference with dist column", CreateTable{Schema: "s", Name: "n", Method: MethodReplication, DistColumn: "x"}, ErrInvalidCommand},
		{"roundrobin colocated", CreateTable{Schema: "s", Name: "n", Method: MethodRoundRobin, ColocateWith: "public.a"}, ErrInvalidCommand},
		{"drop missing", DropTable{Schema: "public", Name: "zz"}, ErrNoSuchTable},
		{"rename missing", RenameTable{Schema: "public", Name: "zz", NewName: "y"}, ErrNoSuchTable},
		{"rename onto existing", RenameTable{Schema: "public", Name: "a", NewName: "a"}, ErrTableExists},
		{"rename to empty", RenameTable{Schema: "public", Name: "a"}, ErrInvalidCommand},
		{"rename column missing table", RenameColumn{Schema: "public", Table: "zz", Column: "id", NewName: "k"}, ErrNoSuchTable},
		{"placement unknown shard", SetPlacement{ShardID: 1, Nodes: []NodeID{1}}, ErrNoSuchShard},
		{"placement unknown node", SetPlacement{ShardID: FirstShardID, Nodes: []NodeID{7}}, ErrNoSuchNode},
		{"placement duplicate nodes", SetPlacement{ShardID: FirstShardID, Nodes: []NodeID{1, 1}}, ErrInvalidCommand},
		{"placement empty", SetPlacement{ShardID: FirstShardID}, ErrInvalidCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, err := ApplyCommand(base, tc.cmd)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ApplyCommand error = %v, want %v", err, tc.want)
			}
			if next != nil {
				t.Errorf("ApplyCommand returned a snapshot with its error")
			}
		})
	}
}

func TestNoActiveNodes(t *testing.T) {
	tests := []struct {
		name string
		base *Snapshot
	}{
		{"empty catalog", nil},
		{"zero snapshot", &Snapshot{}},
		{"all draining", mustApply(t, withNodes(t, 2),
			SetNodeState{Name: "dn1", State: NodeDraining}, SetNodeState{Name: "dn2", State: NodeDraining})},
	}
	for _, tc := range tests {
		for _, cmd := range []CreateTable{
			hashTable("a", OIDInt4, 4),
			{Schema: "s", Name: "r", Method: MethodReplication},
		} {
			if _, err := ApplyCommand(tc.base, cmd); !errors.Is(err, ErrNoActiveNodes) {
				t.Errorf("%s: create %s: error = %v, want ErrNoActiveNodes", tc.name, cmd.Method, err)
			}
		}
	}
}

func TestRemoveNodeAfterMovingShards(t *testing.T) {
	s := mustApply(t, withNodes(t, 2),
		hashTable("a", OIDInt4, 2),
		CreateTable{Schema: "public", Name: "r", Method: MethodReplication},
	)
	// Shard 0 of a is on dn1; the reference shard is on both.
	s = mustApply(t, s,
		SetPlacement{ShardID: FirstShardID, Nodes: []NodeID{2}},
		SetPlacement{ShardID: FirstShardID + 2, Nodes: []NodeID{2}},
		RemoveNode{Name: "dn1"},
	)
	if len(s.Nodes()) != 1 {
		t.Errorf("Nodes() = %v", s.Nodes())
	}
}

func TestUpdateNodeChangesAddress(t *testing.T) {
	s, err := ApplyCommand(nil, AddNode{Name: "dn1", Host: "127.0.0.1", Port: 5433})
	if err != nil {
		t.Fatal(err)
	}
	s, err = ApplyCommand(s, AddNode{Name: "dn2", Host: "127.0.0.1", Port: 5434})
	if err != nil {
		t.Fatal(err)
	}
	next, err := ApplyCommand(s, UpdateNode{Name: "dn1", Host: "127.0.0.1", Port: 6000})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := next.NodeByName("dn1"); n.Port != 6000 {
		t.Errorf("port after update = %d, want 6000", n.Port)
	}
	if n, _ := s.NodeByName("dn1"); n.Port != 5433 {
		t.Errorf("old snapshot changed: port %d", n.Port)
	}
	if _, err := ApplyCommand(next, UpdateNode{Name: "dn1", Host: "127.0.0.1", Port: 5434}); !errors.Is(err, ErrNodeExists) {
		t.Errorf("taking another node's address: err = %v, want ErrNodeExists", err)
	}
	if _, err := ApplyCommand(next, UpdateNode{Name: "nope", Host: "127.0.0.1", Port: 1}); !errors.Is(err, ErrNoSuchNode) {
		t.Errorf("unknown node: err = %v, want ErrNoSuchNode", err)
	}
}
