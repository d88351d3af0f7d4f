package shardmove

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/distgres/distgres/catalog"
)

// testNodes returns nodes 1..len(states) in the given states.
func testNodes(states ...catalog.NodeState) []catalog.Node {
	nodes := make([]catalog.Node, len(states))
	for i, st := range states {
		id := catalog.NodeID(i + 1)
		nodes[i] = catalog.Node{ID: id, Name: fmt.Sprintf("dn%d", id), Host: "localhost", Port: 5432 + i, State: st}
	}
	return nodes
}

// activeNodes returns n active nodes, 1..n.
func activeNodes(n int) []catalog.Node {
	return testNodes(slices.Repeat([]catalog.NodeState{catalog.NodeActive}, n)...)
}

// onNodes returns counts[k] copies of node k+1, in node order.
func onNodes(counts ...int) []catalog.NodeID {
	var ids []catalog.NodeID
	for k, n := range counts {
		ids = append(ids, slices.Repeat([]catalog.NodeID{catalog.NodeID(k + 1)}, n)...)
	}
	return ids
}

// shardGroups returns the groups of one colocation group of two tables,
// group i on placements[i].
func shardGroups(colocation uint32, placements ...catalog.NodeID) []Group {
	groups := make([]Group, len(placements))
	for i, n := range placements {
		base := int64(colocation)*1000 + int64(i)*2
		groups[i] = Group{
			Colocation: colocation,
			Index:      i,
			ShardIDs:   []int64{base, base + 1},
			Tables:     []string{fmt.Sprintf("public.a%d", colocation), fmt.Sprintf("public.b%d", colocation)},
			Node:       n,
		}
	}
	return groups
}

// sized sets the Bytes of groups[i] to bytes[i].
func sized(groups []Group, bytes ...int64) []Group {
	for i, b := range bytes {
		groups[i].Bytes = b
	}
	return groups
}

type groupKey struct {
	colocation uint32
	index      int
}

// applyPlan applies moves to groups and returns where the groups end up.
// It fails the test unless every move takes an existing group from the
// node it is on to a different, active node, and no group moves twice.
func applyPlan(t *testing.T, nodes []catalog.Node, groups []Group, moves []PlannedMove) []Group {
	t.Helper()
	active := map[catalog.NodeID]bool{}
	for _, n := range nodes {
		active[n.ID] = n.State == catalog.NodeActive
	}
	final := slices.Clone(groups)
	at := map[groupKey]int{}
	for i, g := range final {
		at[groupKey{g.Colocation, g.Index}] = i
	}
	moved := map[groupKey]bool{}
	for _, m := range moves {
		k := groupKey{m.Group.Colocation, m.Group.Index}
		i, ok := at[k]
		switch {
		case !ok:
			t.Fatalf("move of unknown group %v", k)
		case moved[k]:
			t.Fatalf("group %v moved twice", k)
		case m.Source != final[i].Node || m.Group.Node != m.Source:
			t.Fatalf("group %v moved from %d (group says %d), but it is on %d", k, m.Source, m.Group.Node, final[i].Node)
		case m.Target == m.Source:
			t.Fatalf("group %v moved to the node it is on (%d)", k, m.Source)
		case !active[m.Target]:
			t.Fatalf("group %v moved to node %d, which is not active", k, m.Target)
		case !reflect.DeepEqual(m.Group.ShardIDs, final[i].ShardIDs):
			t.Fatalf("group %v moved with shards %v, want %v", k, m.Group.ShardIDs, final[i].ShardIDs)
		}
		moved[k] = true
		final[i].Node = m.Target
	}
	return final
}

// countsPerNode returns the number of groups, or their bytes, per node.
func countsPerNode(groups []Group, bytes bool) map[catalog.NodeID]int64 {
	per := map[catalog.NodeID]int64{}
	for _, g := range groups {
		if bytes {
			per[g.Node] += g.Bytes
		} else {
			per[g.Node]++
		}
	}
	return per
}

// checkActive fails the test if a group is not on an active node.
func checkActive(t *testing.T, nodes []catalog.Node, groups []Group) {
	t.Helper()
	for _, g := range groups {
		i := slices.IndexFunc(nodes, func(n catalog.Node) bool { return n.ID == g.Node })
		if i < 0 || nodes[i].State != catalog.NodeActive {
			t.Errorf("group (%d, %d) left on node %d, which is not active", g.Colocation, g.Index, g.Node)
		}
	}
}

// colocationSkew returns, over colocation groups, the largest difference
// between the nodes holding most and fewest of its groups.
func colocationSkew(nodes []catalog.Node, groups []Group) int {
	per := map[uint32]map[catalog.NodeID]int{}
	for _, g := range groups {
		if per[g.Colocation] == nil {
			per[g.Colocation] = map[catalog.NodeID]int{}
			for _, n := range nodes {
				if n.State == catalog.NodeActive {
					per[g.Colocation][n.ID] = 0
				}
			}
		}
		per[g.Colocation][g.Node]++
	}
	skew := 0
	for _, counts := range per {
		c := slices.Collect(maps.Values(counts))
		skew = max(skew, slices.Max(c)-slices.Min(c))
	}
	return skew
}

func TestPlanRebalance(t *testing.T) {
	draining, joining := catalog.NodeDraining, catalog.NodeState("joining")
	active := catalog.NodeActive
	tests := []struct {
		name      string
		nodes     []catalog.Node
		groups    []Group
		strategy  Strategy
		wantMoves int
		// wantCounts is the number of groups per node after the moves,
		// or with bySize their bytes.
		wantCounts map[catalog.NodeID]int64
		bySize     bool
		// wantSkew bounds colocationSkew after the moves, if positive.
		wantSkew int
		wantErr  error
	}{
		{
			name:       "node added to 16/16",
			nodes:      activeNodes(3),
			groups:     slices.Concat(shardGroups(1, onNodes(8, 8)...), shardGroups(2, onNodes(8, 8)...)),
			wantMoves:  10,
			wantCounts: map[catalog.NodeID]int64{1: 11, 2: 11, 3: 10},
			wantSkew:   1,
		},
		{
			name:       "node added to interleaved 16/16",
			nodes:      activeNodes(3),
			groups:     shardGroups(7, slices.Repeat([]catalog.NodeID{1, 2}, 16)...),
			strategy:   ByShardCount,
			wantMoves:  10,
			wantCounts: map[catalog.NodeID]int64{1: 11, 2: 11, 3: 10},
			wantSkew:   1,
		},
		{
			name:       "two nodes added to 24",
			nodes:      activeNodes(4),
			groups:     slices.Concat(shardGroups(1, onNodes(12, 0)...), shardGroups(2, onNodes(0, 12)...)),
			wantMoves:  12,
			wantCounts: map[catalog.NodeID]int64{1: 6, 2: 6, 3: 6, 4: 6},
		},
		{
			name:       "already balanced",
			nodes:      activeNodes(3),
			groups:     slices.Concat(shardGroups(1, onNodes(6, 5, 5)...), shardGroups(2, onNodes(5, 6, 5)...)),
			wantMoves:  0,
			wantCounts: map[catalog.NodeID]int64{1: 11, 2: 11, 3: 10},
		},
		{
			name:       "off by one is balanced",
			nodes:      activeNodes(2),
			groups:     shardGroups(1, onNodes(3, 2)...),
			wantMoves:  0,
			wantCounts: map[catalog.NodeID]int64{1: 3, 2: 2},
		},
		{
			name:       "draining node emptied",
			nodes:      testNodes(active, active, draining),
			groups:     shardGroups(1, onNodes(4, 4, 4)...),
			wantMoves:  4,
			wantCounts: map[catalog.NodeID]int64{1: 6, 2: 6},
			wantSkew:   0,
		},
		{
			name:       "draining node emptied into the emptiest",
			nodes:      testNodes(active, draining, active),
			groups:     shardGroups(1, onNodes(5, 3, 1)...),
			wantMoves:  3,
			wantCounts: map[catalog.NodeID]int64{1: 5, 3: 4},
		},
		{
			name:       "joining node neither keeps nor receives groups",
			nodes:      testNodes(active, active, joining),
			groups:     shardGroups(1, onNodes(3, 1, 2)...),
			wantMoves:  2,
			wantCounts: map[catalog.NodeID]int64{1: 3, 2: 3},
		},
		{
			name:       "group on unknown node moved",
			nodes:      activeNodes(2),
			groups:     shardGroups(1, 1, 9, 2),
			wantMoves:  1,
			wantCounts: map[catalog.NodeID]int64{1: 2, 2: 1},
		},
		{
			name:    "no active nodes",
			nodes:   testNodes(draining, joining),
			groups:  shardGroups(1, onNodes(2, 1)...),
			wantErr: ErrNoTarget,
		},
		{
			name:    "no nodes",
			groups:  shardGroups(1, 1),
			wantErr: ErrNoTarget,
		},
		{
			name:       "no active nodes and nothing to move",
			nodes:      testNodes(draining),
			wantMoves:  0,
			wantCounts: map[catalog.NodeID]int64{},
		},
		{
			name:     "unknown strategy",
			nodes:    activeNodes(2),
			groups:   shardGroups(1, onNodes(2)...),
			strategy: "rows",
			wantErr:  ErrUnknownStrategy,
		},
		{
			name:       "size: a big group stays, small ones spread",
			nodes:      activeNodes(3),
			groups:     sized(shardGroups(1, onNodes(1, 9)...), 900, 100, 100, 100, 100, 100, 100, 100, 100, 100),
			strategy:   BySize,
			wantMoves:  4,
			wantCounts: map[catalog.NodeID]int64{1: 900, 2: 500, 3: 400},
			bySize:     true,
		},
		{
			name:       "size: skewed bytes beat counts",
			nodes:      activeNodes(2),
			groups:     sized(shardGroups(1, onNodes(2, 6)...), 1000, 1000, 10, 10, 10, 10, 10, 10),
			strategy:   BySize,
			wantMoves:  4, // a 1000 one way, then three 10s back
			wantCounts: map[catalog.NodeID]int64{1: 1030, 2: 1030},
			bySize:     true,
		},
		{
			name:       "size: two nodes tie for heaviest",
			nodes:      activeNodes(4),
			groups:     sized(shardGroups(1, onNodes(2, 2)...), 5, 5, 5, 5),
			strategy:   BySize,
			wantMoves:  2,
			wantCounts: map[catalog.NodeID]int64{1: 5, 2: 5, 3: 5, 4: 5},
			bySize:     true,
		},
		{
			name:       "size: draining node emptied largest first",
			nodes:      testNodes(active, active, draining),
			groups:     sized(shardGroups(1, onNodes(0, 0, 4)...), 10, 50, 60, 100),
			strategy:   BySize,
			wantMoves:  4,
			wantCounts: map[catalog.NodeID]int64{1: 110, 2: 110},
			bySize:     true,
		},
		{
			name:       "size: unknown sizes balance counts",
			nodes:      activeNodes(3),
			groups:     shardGroups(1, onNodes(16, 16)...),
			strategy:   BySize,
			wantMoves:  10,
			wantCounts: map[catalog.NodeID]int64{1: 11, 2: 11, 3: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.groups)
			moves, err := PlanRebalance(tt.nodes, tt.groups, tt.strategy)
			if !reflect.DeepEqual(tt.groups, before) {
				t.Fatalf("PlanRebalance changed its input")
			}
			if tt.wantErr != nil || err != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PlanRebalance error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			final := applyPlan(t, tt.nodes, tt.groups, moves)
			checkActive(t, tt.nodes, final)
			if len(moves) != tt.wantMoves {
				t.Errorf("got %d moves, want %d: %v", len(moves), tt.wantMoves, moves)
			}
			if got := countsPerNode(final, tt.bySize); !maps.Equal(got, tt.wantCounts) {
				t.Errorf("after moves per node = %v, want %v", got, tt.wantCounts)
			}
			if got := colocationSkew(tt.nodes, final); tt.wantSkew > 0 && got > tt.wantSkew {
				t.Errorf("colocation skew after moves = %d, want at most %d", got, tt.wantSkew)
			}
		})
	}
}

// randomCluster returns up to 6 nodes in random states and groups of up to
// 4 colocation groups placed at random, some on nodes not in the list.
func randomCluster(r *rand.Rand) ([]catalog.Node, []Group) {
	states := []catalog.NodeState{catalog.NodeActive, catalog.NodeActive, catalog.NodeActive, catalog.NodeDraining, "joining"}
	var nodes []catalog.Node
	for id := range r.IntN(6) + 1 {
		nodes = append(nodes, catalog.Node{ID: catalog.NodeID(id + 1), State: states[r.IntN(len(states))]})
	}
	var groups []Group
	for c := range r.IntN(4) + 1 {
		placements := make([]catalog.NodeID, r.IntN(20))
		for i := range placements {
			placements[i] = catalog.NodeID(r.IntN(len(nodes)+1) + 1)
		}
		g := shardGroups(uint32(c+1), placements...)
		for i := range g {
			g[i].Bytes = r.Int64N(1000)
		}
		groups = append(groups, g...)
	}
	return nodes, groups
}

func TestPlanRebalanceRandomInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		nodes, groups := randomCluster(r)
		for _, s := range []Strategy{ByShardCount, BySize} {
			moves, err := PlanRebalance(nodes, groups, s)
			if errors.Is(err, ErrNoTarget) {
				continue
			}
			if err != nil {
				t.Fatalf("case %d %s: %v", i, s, err)
			}
			final := applyPlan(t, nodes, groups, moves)
			checkActive(t, nodes, final)
			if s != ByShardCount {
				continue
			}
			var counts []int64
			for _, n := range nodes {
				if n.State == catalog.NodeActive {
					counts = append(counts, countsPerNode(final, false)[n.ID])
				}
			}
			if len(groups) > 0 && slices.Max(counts)-slices.Min(counts) > 1 {
				t.Errorf("case %d: group counts %v after moves differ by more than one", i, counts)
			}
			if want := minCountMoves(nodes, groups); len(moves) != want {
				t.Errorf("case %d: %d moves, want the fewest, %d", i, len(moves), want)
			}
		}
	}
}

// minCountMoves returns the fewest moves that leave every group on an
// active node and the active nodes' group counts at most one apart: every
// group on another node, and from each active node what it holds beyond
// its share, the larger shares going to the nodes that hold most.
func minCountMoves(nodes []catalog.Node, groups []Group) int {
	per := countsPerNode(groups, false)
	var held []int
	for _, n := range nodes {
		if n.State == catalog.NodeActive {
			held = append(held, int(per[n.ID]))
		}
	}
	if len(held) == 0 {
		return 0
	}
	slices.Sort(held)
	slices.Reverse(held)
	moves := len(groups)
	for i, h := range held {
		share := len(groups) / len(held)
		if i < len(groups)%len(held) {
			share++
		}
		moves -= min(h, share) // groups that stay
	}
	return moves
}

func TestPlanRebalanceDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100 {
		nodes, groups := randomCluster(r)
		for _, s := range []Strategy{ByShardCount, BySize} {
			first, err1 := PlanRebalance(nodes, groups, s)
			again, err2 := PlanRebalance(nodes, groups, s)
			shuffledNodes, shuffledGroups := slices.Clone(nodes), slices.Clone(groups)
			r.Shuffle(len(shuffledNodes), func(i, j int) { shuffledNodes[i], shuffledNodes[j] = shuffledNodes[j], shuffledNodes[i] })
			r.Shuffle(len(shuffledGroups), func(i, j int) { shuffledGroups[i], shuffledGroups[j] = shuffledGroups[j], shuffledGroups[i] })
			shuffled, err3 := PlanRebalance(shuffledNodes, shuffledGroups, s)
			if !reflect.DeepEqual(first, again) || !reflect.DeepEqual(first, shuffled) ||
				fmt.Sprint(err2) != fmt.Sprint(err1) || fmt.Sprint(err3) != fmt.Sprint(err1) {
				t.Fatalf("case %d %s: plans differ for the same input:\n%v (%v)\n%v (%v)\n%v (%v)",
					i, s, first, err1, again, err2, shuffled, err3)
			}
		}
	}
}

func TestPlanDrain(t *testing.T) {
	active, draining := catalog.NodeActive, catalog.NodeDraining
	tests := []struct {
		name       string
		nodes      []catalog.Node
		groups     []Group
		node       catalog.NodeID
		strategy   Strategy
		wantMoves  int
		wantCounts map[catalog.NodeID]int64
		bySize     bool
		wantErr    error
	}{
		{
			name:       "active node drained, other groups stay",
			nodes:      testNodes(active, active, active, draining),
			groups:     shardGroups(1, onNodes(5, 4, 2, 1)...),
			node:       2,
			wantMoves:  4,
			wantCounts: map[catalog.NodeID]int64{1: 6, 3: 5, 4: 1},
		},
		{
			name:       "draining node drained",
			nodes:      testNodes(active, draining, active),
			groups:     shardGroups(1, onNodes(1, 3, 1)...),
			node:       2,
			wantMoves:  3,
			wantCounts: map[catalog.NodeID]int64{1: 3, 3: 2},
		},
		{
			name:       "by size",
			nodes:      activeNodes(3),
			groups:     sized(shardGroups(1, onNodes(1, 1, 3)...), 100, 10, 80, 50, 40),
			node:       3,
			strategy:   BySize,
			wantMoves:  3,
			wantCounts: map[catalog.NodeID]int64{1: 140, 2: 140},
			bySize:     true,
		},
		{
			name:       "empty node",
			nodes:      activeNodes(2),
			groups:     shardGroups(1, onNodes(2)...),
			node:       2,
			wantMoves:  0,
			wantCounts: map[catalog.NodeID]int64{1: 2},
		},
		{
			name:    "no other active node",
			nodes:   testNodes(active, draining),
			groups:  shardGroups(1, onNodes(2, 1)...),
			node:    1,
			wantErr: ErrNoTarget,
		},
		{
			name:     "unknown strategy",
			nodes:    activeNodes(2),
			groups:   shardGroups(1, onNodes(2)...),
			node:     1,
			strategy: "bogus",
			wantErr:  ErrUnknownStrategy,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moves, err := PlanDrain(tt.nodes, tt.groups, tt.node, tt.strategy)
			if tt.wantErr != nil || err != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PlanDrain error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			final := applyPlan(t, tt.nodes, tt.groups, moves)
			for _, m := range moves {
				if m.Source != tt.node || m.Target == tt.node {
					t.Errorf("move %d → %d does not drain node %d", m.Source, m.Target, tt.node)
				}
			}
			if len(moves) != tt.wantMoves {
				t.Errorf("got %d moves, want %d: %v", len(moves), tt.wantMoves, moves)
			}
			if got := countsPerNode(final, tt.bySize); !maps.Equal(got, tt.wantCounts) {
				t.Errorf("after moves per node = %v, want %v", got, tt.wantCounts)
			}
		})
	}
}

func TestRebalanceParseStrategy(t *testing.T) {
	tests := []struct {
		in      string
		want    Strategy
		wantErr bool
	}{
		{"", ByShardCount, false},
		{"shard-count", ByShardCount, false},
		{"size", BySize, false},
		{"Size", "", true},
		{"rows", "", true},
	}
	for _, tt := range tests {
		got, err := ParseStrategy(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrUnknownStrategy) {
			t.Errorf("ParseStrategy(%q) error %v does not wrap ErrUnknownStrategy", tt.in, err)
		}
		for _, valid := range []Strategy{ByShardCount, BySize} {
			if !strings.Contains(err.Error(), string(valid)) {
				t.Errorf("ParseStrategy(%q) error %q does not name %q", tt.in, err, valid)
			}
		}
	}
}
