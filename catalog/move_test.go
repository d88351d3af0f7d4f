package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// movedCatalog returns a catalog with nodes dn1..dn3, colocated hash tables
// a and b (4 shards each) and a reference table r on dn1 and dn2.
func movedCatalog(t *testing.T) *Snapshot {
	t.Helper()
	s := withNodes(t, 2)
	s = mustApply(t, s, hashTable("a", OIDInt8, 4), CreateTable{Schema: "public", Name: "b", Method: MethodHash,
		DistColumn: "id", DistType: OIDInt8, ColocateWith: "a"},
		CreateTable{Schema: "public", Name: "r", Method: MethodReplication},
		AddNode{Name: "dn3", Host: "10.0.0.3", Port: 5432})
	return s
}

func TestMoveLifecycle(t *testing.T) {
	s := movedCatalog(t)
	a, b := mustTable(t, s, "public", "a"), mustTable(t, s, "public", "b")
	group := []int64{a.Shards[0].ID, b.Shards[0].ID}
	src := a.Shards[0].Placements[0]
	schema := s.SchemaVersion()
	s = mustApply(t, s, BeginMove{ID: "01", Coordinator: "c1", Incarnation: "aa", Shards: group, Source: src, Target: 3})
	if s.WritesFrozen(a.ColocationID) {
		t.Fatal("writes frozen while copying")
	}
	s = mustApply(t, s, FreezeMove{ID: "01", Frozen: true})
	if !s.WritesFrozen(a.ColocationID) || s.WritesFrozen(mustTable(t, s, "public", "r").ColocationID) {
		t.Fatal("WritesFrozen does not name exactly the moving colocation group")
	}
	if s.SchemaVersion() != schema {
		t.Error("beginning and freezing a move changed the schema version; plans would be dropped for nothing")
	}
	s = mustApply(t, s, FinishMove{ID: "01", Commit: true})
	if s.SchemaVersion() == schema {
		t.Error("switching placements did not change the schema version")
	}
	if s.WritesFrozen(a.ColocationID) {
		t.Error("writes still frozen after the switch")
	}
	for _, name := range []string{"a", "b"} {
		if got := mustTable(t, s, "public", name).Shards[0].Placements; !slices.Equal(got, []NodeID{3}) {
			t.Errorf("%s shard 0 placements = %v, want [3]", name, got)
		}
	}
	if _, err := ApplyCommand(s, FinishMove{ID: "01", Commit: false}); !errors.Is(err, ErrMoveState) {
		t.Errorf("aborting a switched move: %v, want ErrMoveState", err)
	}
	s = mustApply(t, s, FinishMove{ID: "01", Commit: true}, ForgetMove{ID: "01"}, ForgetMove{ID: "01"})
	if len(s.Moves()) != 0 {
		t.Errorf("moves after forget = %v", s.Moves())
	}
}

func TestMoveCopyAddsPlacement(t *testing.T) {
	s := movedCatalog(t)
	r := mustTable(t, s, "public", "r")
	s = mustApply(t, s, BeginMove{ID: "02", Shards: []int64{r.Shards[0].ID}, Source: 1, Target: 3, Copy: true},
		FinishMove{ID: "02", Commit: true})
	if got := mustTable(t, s, "public", "r").Shards[0].Placements; !slices.Equal(got, []NodeID{1, 2, 3}) {
		t.Errorf("reference placements = %v, want [1 2 3]", got)
	}
}

func TestMoveAbortKeepsSource(t *testing.T) {
	s := movedCatalog(t)
	a := mustTable(t, s, "public", "a")
	src := a.Shards[1].Placements[0]
	s = mustApply(t, s, BeginMove{ID: "03", Shards: []int64{a.Shards[1].ID}, Source: src, Target: 3},
		FreezeMove{ID: "03", Frozen: true}, FinishMove{ID: "03"})
	if got := mustTable(t, s, "public", "a").Shards[1].Placements; !slices.Equal(got, []NodeID{src}) {
		t.Errorf("placements after abort = %v, want [%d]", got, src)
	}
	if _, err := ApplyCommand(s, FinishMove{ID: "03", Commit: true}); !errors.Is(err, ErrMoveState) {
		t.Errorf("committing an aborted move: %v, want ErrMoveState", err)
	}
	if _, err := ApplyCommand(s, FreezeMove{ID: "03", Frozen: true}); !errors.Is(err, ErrMoveState) {
		t.Errorf("freezing an aborted move: %v, want ErrMoveState", err)
	}
}

func TestBeginMoveErrors(t *testing.T) {
	s := movedCatalog(t)
	a, r := mustTable(t, s, "public", "a"), mustTable(t, s, "public", "r")
	src := a.Shards[0].Placements[0]
	other := NodeID(3 - src) // the other of dn1, dn2
	busy := mustApply(t, s, BeginMove{ID: "10", Shards: []int64{a.Shards[0].ID}, Source: src, Target: 3})
	tests := []struct {
		name string
		snap *Snapshot
		cmd  BeginMove
		want error
	}{
		{"unknown shard", s, BeginMove{ID: "11", Shards: []int64{1}, Source: src, Target: 3}, ErrNoSuchShard},
		{"unknown target", s, BeginMove{ID: "11", Shards: []int64{a.Shards[0].ID}, Source: src, Target: 9}, ErrNoSuchNode},
		{"not on source", s, BeginMove{ID: "11", Shards: []int64{a.Shards[0].ID}, Source: other, Target: 3}, ErrInvalidCommand},
		{"already on target", s, BeginMove{ID: "11", Shards: []int64{r.Shards[0].ID}, Source: 1, Target: 2, Copy: true}, ErrInvalidCommand},
		{"not colocated", s, BeginMove{ID: "11", Shards: []int64{a.Shards[0].ID, r.Shards[0].ID}, Source: src, Target: 3}, ErrInvalidCommand},
		{"same node", s, BeginMove{ID: "11", Shards: []int64{a.Shards[0].ID}, Source: src, Target: src}, ErrInvalidCommand},
		{"no shards", s, BeginMove{ID: "11", Source: src, Target: 3}, ErrInvalidCommand},
		{"bad id", s, BeginMove{ID: "X", Shards: []int64{a.Shards[0].ID}, Source: src, Target: 3}, ErrInvalidCommand},
		{"shard busy", busy, BeginMove{ID: "11", Shards: []int64{a.Shards[0].ID}, Source: src, Target: 3}, ErrMoveExists},
		{"id taken", busy, BeginMove{ID: "10", Shards: []int64{a.Shards[2].ID}, Source: a.Shards[2].Placements[0], Target: 3}, ErrMoveExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ApplyCommand(tt.snap, tt.cmd); !errors.Is(err, tt.want) {
				t.Errorf("ApplyCommand = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMovesSurviveSnapshotJSON(t *testing.T) {
	s := movedCatalog(t)
	a := mustTable(t, s, "public", "a")
	s = mustApply(t, s, BeginMove{ID: "20", Coordinator: "c1", Incarnation: "aa", StartedMillis: 5,
		Shards: []int64{a.Shards[0].ID}, Source: a.Shards[0].Placements[0], Target: 3}, FreezeMove{ID: "20", Frozen: true})
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	m, ok := back.Move("20")
	if !ok || m.State != MoveFrozen || m.Colocation != a.ColocationID || m.Incarnation != "aa" {
		t.Errorf("move after round trip = %+v, %v", m, ok)
	}
}

func TestReplicateTable(t *testing.T) {
	s := movedCatalog(t)
	a := mustTable(t, s, "public", "a")
	s = mustApply(t, s, ReplicateTable{Schema: "public", Name: "a", Nodes: []NodeID{3, 1, 2}})
	got := mustTable(t, s, "public", "a")
	ref := mustTable(t, s, "public", "r")
	switch {
	case got.Method != MethodReplication, got.DistColumn != "", len(got.Shards) != 1:
		t.Fatalf("replicated table = %+v", got)
	case got.Shards[0].ID != a.Shards[0].ID:
		t.Errorf("shard id %d, want the first shard's %d", got.Shards[0].ID, a.Shards[0].ID)
	case !slices.Equal(got.Shards[0].Placements, []NodeID{1, 2, 3}):
		t.Errorf("placements %v", got.Shards[0].Placements)
	case got.ColocationID != ref.ColocationID:
		t.Errorf("colocation %d, want the reference tables' %d", got.ColocationID, ref.ColocationID)
	}
	if b := mustTable(t, s, "public", "b"); len(b.Shards) != 4 || b.Method != MethodHash {
		t.Errorf("colocated table b changed: %+v", b)
	}
	for _, c := range []ReplicateTable{{Schema: "public", Name: "a", Nodes: []NodeID{1}}, {Schema: "public", Name: "nope", Nodes: []NodeID{1}},
		{Schema: "public", Name: "b", Nodes: []NodeID{9}}, {Schema: "public", Name: "b"}} {
		if _, err := ApplyCommand(s, c); err == nil {
			t.Errorf("%+v applied", c)
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("snapshot after ReplicateTable does not decode: %v", err)
	}
}
