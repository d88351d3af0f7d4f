package catalog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func openTestRaft(t *testing.T, dir, id, join string) *RaftStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := OpenRaft(ctx, RaftOptions{ID: id, Dir: dir, RaftAddr: "127.0.0.1:0", Join: join,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("open %s: %v", id, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func waitVersion(t *testing.T, st *RaftStore, v uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.Snapshot().Version() < v {
		if time.Now().After(deadline) {
			t.Fatalf("%s: catalog version %d, want %d", st.ID(), st.Snapshot().Version(), v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRaftStoreReplicatesAndForwards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := openTestRaft(t, t.TempDir(), "a", "")
	b := openTestRaft(t, t.TempDir(), "b", a.RaftAddr())
	c := openTestRaft(t, t.TempDir(), "c", b.RaftAddr()) // joins through a follower
	for _, st := range []*RaftStore{a, b, c} {
		select {
		case <-st.Registered():
		case <-ctx.Done():
			t.Fatalf("%s never registered", st.ID())
		}
	}
	if !a.IsLeader() {
		t.Fatalf("the bootstrapping store is not the leader")
	}
	// A change made on a follower is in that follower's catalog when
	// Apply returns, and reaches the others.
	snap, err := c.Apply(ctx, AddNode{Name: "n1", Host: "127.0.0.1", Port: 7001})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.NodeByName("n1"); !ok || c.Snapshot() != snap && c.Snapshot().Version() < snap.Version() {
		t.Fatalf("follower's Apply returned a catalog without the change")
	}
	for _, st := range []*RaftStore{a, b} {
		waitVersion(t, st, snap.Version())
	}
	// Errors keep their identity across the forward.
	_, err = b.Apply(ctx, AddNode{Name: "n1", Host: "127.0.0.1", Port: 7002})
	if !errors.Is(err, ErrNodeExists) {
		t.Fatalf("duplicate node through a follower: %v, want ErrNodeExists", err)
	}
	if got := len(a.Status().Members); got != 3 {
		t.Fatalf("members = %d, want 3", got)
	}
	if co := a.Snapshot().Coordinators(); len(co) != 3 || co[2].Incarnation != c.Incarnation() {
		t.Fatalf("coordinators = %+v", co)
	}
}

// An entry whose command version is unknown fails at apply on every
// replica, without a panic and without changing the catalog.
func TestRaftStoreUnknownCommandVersion(t *testing.T) {
	st := openTestRaft(t, t.TempDir(), "a", "")
	<-st.Registered()
	before := st.Snapshot().Version()
	f := st.raft.Apply([]byte(`{"kind":"add_node","version":99,"body":{"name":"x"}}`), time.Second)
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	err, _ := f.Response().(error)
	if !errors.Is(err, ErrUnknownCommand) {
		t.Fatalf("response = %v, want ErrUnknownCommand", f.Response())
	}
	if st.Snapshot().Version() != before {
		t.Fatalf("catalog changed by a rejected command")
	}
}

// A store restarted from its directory has the same catalog, through the
// log and through a Raft snapshot.
func TestRaftStoreRestartAndSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTestRaft(t, dir, "a", "")
	<-st.Registered()
	for i := range 3 {
		if _, err := st.Apply(ctx, AddNode{Name: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: 7000 + i}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Apply(ctx, CreateTable{Schema: "public", Name: "t", Method: MethodHash, DistColumn: "id", DistType: 23, ShardCount: 4}); err != nil {
		t.Fatal(err)
	}
	if err := st.CompactLog(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, CreateTable{Schema: "public", Name: "r", Method: MethodReplication}); err != nil {
		t.Fatal(err)
	}
	want, _ := st.Snapshot().MarshalJSON()
	st.Close()

	again := openTestRaft(t, dir, "a", "")
	<-again.Registered() // a new incarnation: one more version
	if again.Restores() != 1 {
		t.Fatalf("restores = %d, want 1 (the compacted prefix)", again.Restores())
	}
	got := again.Snapshot()
	if _, ok := got.Table("public", "r"); !ok {
		t.Fatalf("table from the log tail missing after restart")
	}
	tb, ok := got.Table("public", "t")
	if !ok || len(tb.Shards) != 4 {
		t.Fatalf("table from the snapshot missing after restart")
	}
	var prev Snapshot
	if err := prev.UnmarshalJSON(want); err != nil {
		t.Fatal(err)
	}
	if got.Version() != prev.Version()+1 {
		t.Fatalf("version %d after restart, want %d", got.Version(), prev.Version()+1)
	}
}
