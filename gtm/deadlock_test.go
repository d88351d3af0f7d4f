package gtm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
)

// wait is a shorthand for a wait between blocks in the tests.
func wait(waiter, holder, node string) WaitEdge {
	return WaitEdge{Waiter: waiter, Holder: holder, Node: node}
}

func TestFindDeadlocks(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	type want struct {
		victim string
		cycle  []string // blocks in wait order, starting with the victim
	}
	tests := []struct {
		name    string
		edges   []WaitEdge
		started map[string]time.Time
		want    []want
	}{
		{
			name:    "no waits",
			started: map[string]time.Time{},
		},
		{
			name:    "a chain is no deadlock",
			edges:   []WaitEdge{wait("a", "b", "n1"), wait("b", "c", "n2")},
			started: map[string]time.Time{"a": at(1), "b": at(2), "c": at(3)},
		},
		{
			name:    "two blocks on two nodes: the younger is cancelled",
			edges:   []WaitEdge{wait("a", "b", "n2"), wait("b", "a", "n1")},
			started: map[string]time.Time{"a": at(1), "b": at(2)},
			want:    []want{{"b", []string{"b", "a"}}},
		},
		{
			name:    "the younger is cancelled whatever the IDs",
			edges:   []WaitEdge{wait("a", "b", "n2"), wait("b", "a", "n1")},
			started: map[string]time.Time{"a": at(5), "b": at(2)},
			want:    []want{{"a", []string{"a", "b"}}},
		},
		{
			name:    "same start: the greater ID is cancelled",
			edges:   []WaitEdge{wait("a", "b", "n2"), wait("b", "a", "n1")},
			started: map[string]time.Time{"a": at(1), "b": at(1)},
			want:    []want{{"b", []string{"b", "a"}}},
		},
		{
			name:    "three blocks in a ring",
			edges:   []WaitEdge{wait("a", "b", "n1"), wait("b", "c", "n2"), wait("c", "a", "n3")},
			started: map[string]time.Time{"a": at(1), "b": at(3), "c": at(2)},
			want:    []want{{"b", []string{"b", "c", "a"}}},
		},
		{
			name: "a block waiting for the cycle is not part of it",
			edges: []WaitEdge{
				wait("a", "b", "n1"), wait("b", "a", "n2"),
				wait("late", "a", "n1"),
			},
			started: map[string]time.Time{"a": at(1), "b": at(2), "late": at(9)},
			want:    []want{{"b", []string{"b", "a"}}},
		},
		{
			name: "two separate cycles: one victim each",
			edges: []WaitEdge{
				wait("a", "b", "n1"), wait("b", "a", "n2"),
				wait("c", "d", "n1"), wait("d", "c", "n2"),
			},
			started: map[string]time.Time{"a": at(4), "b": at(3), "c": at(1), "d": at(2)},
			want:    []want{{"a", []string{"a", "b"}}, {"d", []string{"d", "c"}}},
		},
		{
			name: "two cycles through one young block: it alone is cancelled",
			edges: []WaitEdge{
				wait("x", "a", "n1"), wait("a", "x", "n2"),
				wait("x", "b", "n2"), wait("b", "x", "n1"),
			},
			started: map[string]time.Time{"a": at(1), "b": at(2), "x": at(9)},
			want:    []want{{"x", []string{"x", "a"}}},
		},
		{
			name: "two cycles sharing an old block: each loses its youngest",
			edges: []WaitEdge{
				wait("o", "a", "n1"), wait("a", "o", "n2"),
				wait("o", "b", "n2"), wait("b", "o", "n1"),
			},
			started: map[string]time.Time{"o": at(1), "a": at(3), "b": at(2)},
			want:    []want{{"a", []string{"a", "o"}}, {"b", []string{"b", "o"}}},
		},
		{
			name:    "a wait of a block for itself is ignored",
			edges:   []WaitEdge{wait("a", "a", "n1")},
			started: map[string]time.Time{"a": at(1)},
		},
		{
			name:    "a block missing its start time counts as oldest",
			edges:   []WaitEdge{wait("a", "b", "n2"), wait("b", "a", "n1")},
			started: map[string]time.Time{"a": at(1)},
			want:    []want{{"a", []string{"a", "b"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findDeadlocks(tt.edges, tt.started)
			if len(got) != len(tt.want) {
				t.Fatalf("found %d deadlocks %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Victim != w.victim {
					t.Errorf("deadlock %d: victim %s, want %s", i, got[i].Victim, w.victim)
				}
				var cycle []string
				for j, e := range got[i].Cycle {
					cycle = append(cycle, e.Waiter)
					if next := got[i].Cycle[(j+1)%len(got[i].Cycle)]; e.Holder != next.Waiter {
						t.Errorf("deadlock %d: wait %d ends at %s but the next starts at %s", i, j, e.Holder, next.Waiter)
					}
				}
				if !slices.Equal(cycle, w.cycle) {
					t.Errorf("deadlock %d: cycle %v, want %v", i, cycle, w.cycle)
				}
				for _, b := range w.cycle {
					if !strings.Contains(got[i].Detail, "block "+b+" ") {
						t.Errorf("deadlock %d: detail %q does not name block %s", i, got[i].Detail, b)
					}
				}
			}
		})
	}
}

func TestFindDeadlocksIsDeterministic(t *testing.T) {
	edges := []WaitEdge{
		wait("a", "b", "n1"), wait("b", "c", "n2"), wait("c", "a", "n1"),
		wait("c", "d", "n2"), wait("d", "b", "n1"),
	}
	started := map[string]time.Time{}
	first := findDeadlocks(edges, started)
	for range 20 {
		shuffled := slices.Clone(edges)
		slices.Reverse(shuffled)
		got := findDeadlocks(shuffled, started)
		if len(got) != len(first) {
			t.Fatalf("got %d deadlocks, then %d", len(first), len(got))
		}
		for i := range got {
			if got[i].Victim != first[i].Victim || got[i].Detail != first[i].Detail {
				t.Fatalf("deadlock %d differs: %+v, then %+v", i, first[i], got[i])
			}
		}
	}
	// Every cycle of the graph must lose a block.
	victims := map[string]bool{}
	for _, d := range first {
		victims[d.Victim] = true
	}
	for _, cycle := range [][]string{{"a", "b", "c"}, {"b", "c", "d"}} {
		if !slices.ContainsFunc(cycle, func(b string) bool { return victims[b] }) {
			t.Errorf("cycle %v kept all its blocks (victims %v)", cycle, victims)
		}
	}
}

func TestWaitEdges(t *testing.T) {
	n1 := catalog.Node{ID: 1, Name: "n1"}
	n2 := catalog.Node{ID: 2, Name: "n2"}
	owners := map[backendKey]string{
		{1, 100}: "a", {1, 101}: "b", {1, 102}: "a",
		{2, 100}: "b", {2, 200}: "a",
	}
	tests := []struct {
		name  string
		waits []nodeWaits
		want  []WaitEdge
	}{
		{
			name: "PIDs are per node",
			waits: []nodeWaits{
				{node: n1, waits: map[uint32][]uint32{101: {100}}},
				{node: n2, waits: map[uint32][]uint32{200: {100}}},
			},
			want: []WaitEdge{
				{Waiter: "a", Holder: "b", Node: "n2", WaiterPID: 200, HolderPID: 100},
				{Waiter: "b", Holder: "a", Node: "n1", WaiterPID: 101, HolderPID: 100},
			},
		},
		{
			name: "backends of no block are ignored",
			waits: []nodeWaits{
				{node: n1, waits: map[uint32][]uint32{101: {555}, 555: {100}}},
			},
		},
		{
			name: "a block waiting for itself is ignored",
			waits: []nodeWaits{
				{node: n1, waits: map[uint32][]uint32{102: {100}}},
			},
		},
		{
			name: "one wait per pair of blocks",
			waits: []nodeWaits{
				{node: n1, waits: map[uint32][]uint32{100: {101}, 102: {101}}},
			},
			want: []WaitEdge{{Waiter: "a", Holder: "b", Node: "n1", WaiterPID: 100, HolderPID: 101}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := waitEdges(tt.waits, owners)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfirmWaits(t *testing.T) {
	ab, ba, bc := wait("a", "b", "n1"), wait("b", "a", "n2"), wait("b", "c", "n1")
	tests := []struct {
		name   string
		rounds [][]WaitEdge
		want   []WaitEdge // confirmed by the last round
	}{
		{"a first sighting is not confirmed", [][]WaitEdge{{ab, ba}}, nil},
		{"seen twice in a row", [][]WaitEdge{{ab, ba}, {ab, ba}}, []WaitEdge{ab, ba}},
		{"only the waits seen twice", [][]WaitEdge{{ab}, {ab, ba}}, []WaitEdge{ab}},
		{"a gap starts over", [][]WaitEdge{{ab, ba}, {bc}, {ab, ba}}, nil},
		{"seen on another node still counts", [][]WaitEdge{{ab}, {wait("a", "b", "n2")}}, []WaitEdge{wait("a", "b", "n2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen map[blockPair]bool
			var got []WaitEdge
			for _, r := range tt.rounds {
				got, seen = confirmWaits(seen, r)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestResolve runs rounds against fake coordinators: a cycle between a
// block of this coordinator and a younger one of another is cancelled on
// its second sighting only, through the coordinator that runs the victim;
// an unreachable coordinator's waits are left out.
func TestResolve(t *testing.T) {
	t0 := time.Now()
	local := []Backend{{Node: 1, PID: 10, Block: "old", Started: t0}, {Node: 2, PID: 20, Block: "old", Started: t0}}
	remote := []Backend{{Node: 1, PID: 11, Block: "young", Started: t0.Add(time.Second)}, {Node: 2, PID: 21, Block: "young", Started: t0.Add(time.Second)}}
	waits := []nodeWaits{
		{node: catalog.Node{ID: 1, Name: "n1"}, waits: map[uint32][]uint32{11: {10}}},
		{node: catalog.Node{ID: 2, Name: "n2"}, waits: map[uint32][]uint32{20: {21}}},
	}
	coords := []catalog.Coordinator{{ID: "c1", RaftAddr: "addr1"}, {ID: "c2", RaftAddr: "addr2"}, {ID: "c3", RaftAddr: "addr3"}}
	type cancelCall struct{ where, block, detail string }
	var calls []cancelCall
	d := NewDeadlockDetector(DeadlockConfig{
		Self:  "c1",
		Local: func() []Backend { return local },
		CancelLocal: func(block, detail string) bool {
			calls = append(calls, cancelCall{"local", block, detail})
			return true
		},
		Remote: func(ctx context.Context, addr string) ([]Backend, error) {
			switch addr {
			case "addr2":
				return remote, nil
			case "addr1":
				t.Errorf("asked this coordinator for its backends over the network")
			}
			return nil, errors.New("unreachable")
		},
		CancelRemote: func(ctx context.Context, addr, block, detail string) (bool, error) {
			calls = append(calls, cancelCall{addr, block, detail})
			return true, nil
		},
	})
	ctx := context.Background()
	found, errs := d.resolve(ctx, waits, coords)
	if len(found) != 0 || len(calls) != 0 {
		t.Fatalf("first sighting: found %+v, cancelled %+v", found, calls)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "c3") {
		t.Errorf("errors %v, want one naming the unreachable coordinator c3", errs)
	}
	found, _ = d.resolve(ctx, waits, coords)
	if len(found) != 1 || found[0].Victim != "young" {
		t.Fatalf("second sighting found %+v, want one deadlock with victim young", found)
	}
	if len(calls) != 1 || calls[0].where != "addr2" || calls[0].block != "young" || calls[0].detail != found[0].Detail {
		t.Fatalf("cancel calls %+v, want one for block young at addr2", calls)
	}
	for _, want := range []string{"data node n1", "data node n2", "backend 11 waits for backend 10", "backend 20 waits for backend 21"} {
		if !strings.Contains(found[0].Detail, want) {
			t.Errorf("detail %q lacks %q", found[0].Detail, want)
		}
	}
	// A round with no waits forgets what it saw: the cycle must again be
	// seen twice.
	d.resolve(ctx, nil, coords)
	calls = nil
	if found, _ := d.resolve(ctx, waits, coords); len(found) != 0 || len(calls) != 0 {
		t.Errorf("after a round without waits: found %+v, cancelled %+v", found, calls)
	}
	// The victim on this coordinator is cancelled locally.
	local[0].Started, local[1].Started = t0.Add(time.Hour), t0.Add(time.Hour)
	calls = nil
	found, _ = d.resolve(ctx, waits, coords)
	if len(found) != 1 || found[0].Victim != "old" || len(calls) != 1 || calls[0].where != "local" {
		t.Errorf("found %+v, cancelled %+v; want block old cancelled locally", found, calls)
	}
}
