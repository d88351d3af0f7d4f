package shardmove

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/distgres/distgres/catalog"
)

// ErrNoTarget is returned when shard groups must move but no active node
// can receive them.
var ErrNoTarget = errors.New("shardmove: no active node to move shard groups to")

// ErrUnknownStrategy is returned for a rebalance strategy name that is not
// one of the Strategy constants.
var ErrUnknownStrategy = errors.New("shardmove: unknown rebalance strategy")

// Group is one shard group: shard Index of colocation group Colocation,
// i.e. one shard of every table in it, placed together on Node.
type Group struct {
	Colocation uint32
	Index      int
	ShardIDs   []int64  // one per table, same order as Tables
	Tables     []string // schema-qualified names
	Node       catalog.NodeID
	Bytes      int64 // total size on disk; 0 if unknown
}

// compareGroups orders groups by (Colocation, Index), the planner's order.
func compareGroups(a, b Group) int {
	return cmp.Or(cmp.Compare(a.Colocation, b.Colocation), cmp.Compare(a.Index, b.Index))
}

// Strategy is what a rebalance evens out across the active nodes.
type Strategy string

const (
	// ByShardCount evens out the number of shard groups per node.
	ByShardCount Strategy = "shard-count"
	// BySize evens out the bytes on disk per node. When no group has a
	// known size it behaves like ByShardCount.
	BySize Strategy = "size"
)

// ParseStrategy returns the strategy named s; "" means ByShardCount.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case "":
		return ByShardCount, nil
	case ByShardCount, BySize:
		return st, nil
	}
	return "", fmt.Errorf("%w %q (valid: %q, %q)", ErrUnknownStrategy, s, ByShardCount, BySize)
}

// PlannedMove moves one group from Source to Target. Group is the group
// as it was before the plan, so Group.Node == Source.
type PlannedMove struct {
	Group          Group
	Source, Target catalog.NodeID
}

// PlanRebalance returns the moves that leave every group on an active node
// and balance the active nodes by the strategy, in the order they should
// run.
//
// Groups on nodes that are not active (draining, joining, or missing from
// nodes) move first, largest first under BySize, each to the node that is
// least loaded at that point. Then the active nodes are balanced:
//
//   - ByShardCount moves a group from a most loaded node to a least loaded
//     one while their counts differ by more than one, which takes the
//     fewest moves. Of the groups on the source it picks one from the
//     colocation group the source holds most of relative to the target, so
//     every colocation group stays spread out; then the smallest.
//   - BySize moves, to the least loaded node, the group whose move leaves
//     the smallest spread (heaviest minus lightest node), as long as that
//     strictly reduces the spread or, with the spread unchanged, evens out
//     the two nodes involved (as when two nodes tie for heaviest).
//
// No group moves twice, and the same input always gives the same plan.
// It returns an error wrapping ErrNoTarget if groups must move but no node
// is active.
func PlanRebalance(nodes []catalog.Node, groups []Group, s Strategy) ([]PlannedMove, error) {
	r, err := newRebalancer(nodes, groups, s)
	if err != nil {
		return nil, err
	}
	if err := r.evacuate(func(g Group) bool { return !r.active[g.Node] }); err != nil {
		return nil, err
	}
	if r.bySize {
		r.balanceSize()
	} else {
		r.balanceCount()
	}
	return r.moves, nil
}

// PlanDrain returns the moves that take every group off node, each to the
// active node other than node that is least loaded by the strategy at that
// point. Groups on other nodes stay where they are. It returns an error
// wrapping ErrNoTarget if node holds groups but no other node is active.
func PlanDrain(nodes []catalog.Node, groups []Group, node catalog.NodeID, s Strategy) ([]PlannedMove, error) {
	others := slices.DeleteFunc(slices.Clone(nodes), func(n catalog.Node) bool { return n.ID == node })
	r, err := newRebalancer(others, groups, s)
	if err != nil {
		return nil, err
	}
	if err := r.evacuate(func(g Group) bool { return g.Node == node }); err != nil {
		return nil, err
	}
	return r.moves, nil
}

// nodeColocation counts the groups of one colocation group on one node.
type nodeColocation struct {
	node       catalog.NodeID
	colocation uint32
}

// rebalancer is the state of one plan: where each group is after the
// moves planned so far, and the resulting load of each active node.
type rebalancer struct {
	bySize  bool                     // load is bytes, not group count
	nodes   []catalog.NodeID         // active nodes, by ID
	active  map[catalog.NodeID]bool  // active nodes
	load    map[catalog.NodeID]int64 // per active node
	perColo map[nodeColocation]int   // groups per active node and colocation
	groups  []Group                  // by (Colocation, Index); Node is the planned node
	moved   []bool                   // parallel to groups
	moves   []PlannedMove            // the plan so far
}

// newRebalancer counts the load of the active nodes among nodes, under
// strategy s ("" meaning ByShardCount).
func newRebalancer(nodes []catalog.Node, groups []Group, s Strategy) (*rebalancer, error) {
	s, err := ParseStrategy(string(s))
	if err != nil {
		return nil, err
	}
	r := &rebalancer{
		active:  make(map[catalog.NodeID]bool),
		load:    make(map[catalog.NodeID]int64),
		perColo: make(map[nodeColocation]int),
		groups:  slices.Clone(groups),
		moved:   make([]bool, len(groups)),
	}
	slices.SortStableFunc(r.groups, compareGroups)
	r.bySize = s == BySize && slices.ContainsFunc(r.groups, func(g Group) bool { return g.Bytes > 0 })
	for _, n := range nodes {
		if n.State == catalog.NodeActive && !r.active[n.ID] {
			r.active[n.ID] = true
			r.nodes = append(r.nodes, n.ID)
		}
	}
	slices.Sort(r.nodes)
	for _, g := range r.groups {
		r.add(g, g.Node)
	}
	return r, nil
}

// weight is what g adds to the load of its node.
func (r *rebalancer) weight(g Group) int64 {
	if r.bySize {
		return max(g.Bytes, 0)
	}
	return 1
}

// add counts g on node, if node is active.
func (r *rebalancer) add(g Group, node catalog.NodeID) {
	if r.active[node] {
		r.load[node] += r.weight(g)
		r.perColo[nodeColocation{node, g.Colocation}]++
	}
}

// remove undoes add.
func (r *rebalancer) remove(g Group, node catalog.NodeID) {
	if r.active[node] {
		r.load[node] -= r.weight(g)
		r.perColo[nodeColocation{node, g.Colocation}]--
	}
}

// move plans moving groups[i] to target.
func (r *rebalancer) move(i int, target catalog.NodeID) {
	g := r.groups[i]
	r.moves = append(r.moves, PlannedMove{Group: g, Source: g.Node, Target: target})
	r.remove(g, g.Node)
	r.add(g, target)
	r.groups[i].Node = target
	r.moved[i] = true
}

// evacuate moves every group for which must is true to the least loaded
// active node.
func (r *rebalancer) evacuate(must func(Group) bool) error {
	var todo []int
	for i, g := range r.groups {
		if must(g) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if len(r.nodes) == 0 {
		return fmt.Errorf("%w: %d shard groups must move", ErrNoTarget, len(todo))
	}
	if r.bySize {
		// Largest first packs the nodes more evenly.
		slices.SortStableFunc(todo, func(a, b int) int { return cmp.Compare(r.groups[b].Bytes, r.groups[a].Bytes) })
	}
	for _, i := range todo {
		r.move(i, r.leastLoaded(r.groups[i].Colocation))
	}
	return nil
}

// leastLoaded returns the active node with the least load; of those, the
// one with the fewest groups of colocation, then the lowest ID.
func (r *rebalancer) leastLoaded(colocation uint32) catalog.NodeID {
	return slices.MinFunc(r.nodes, func(a, b catalog.NodeID) int {
		return cmp.Or(
			cmp.Compare(r.load[a], r.load[b]),
			cmp.Compare(r.perColo[nodeColocation{a, colocation}], r.perColo[nodeColocation{b, colocation}]),
			cmp.Compare(a, b),
		)
	})
}

// lightest returns the active node with the least load; of those, the one
// with the lowest ID.
func (r *rebalancer) lightest() catalog.NodeID {
	return slices.MinFunc(r.nodes, func(a, b catalog.NodeID) int {
		return cmp.Or(cmp.Compare(r.load[a], r.load[b]), cmp.Compare(a, b))
	})
}

// extremes returns the lowest and highest load of the active nodes other
// than the excluded ones; with none left, lo > hi.
func (r *rebalancer) extremes(exclude ...catalog.NodeID) (lo, hi int64) {
	lo, hi = math.MaxInt64, math.MinInt64
	for _, n := range r.nodes {
		if !slices.Contains(exclude, n) {
			lo, hi = min(lo, r.load[n]), max(hi, r.load[n])
		}
	}
	return lo, hi
}

// balanceCount moves groups from most to least loaded nodes until their
// group counts differ by at most one.
func (r *rebalancer) balanceCount() {
	for range len(r.groups) {
		lo, hi := r.extremes()
		if hi-lo <= 1 {
			return
		}
		i, target, ok := r.pickCountMove(lo, hi)
		if !ok {
			return
		}
		r.move(i, target)
	}
}

// pickCountMove picks a group not yet moved on a node with load hi and a
// target with load lo: the group whose colocation group the source holds
// most of relative to the target, then the smallest, then the first by
// (Colocation, Index) and target ID.
func (r *rebalancer) pickCountMove(lo, hi int64) (best int, target catalog.NodeID, ok bool) {
	var bestSkew int
	var bestBytes int64
	for i, g := range r.groups {
		if r.moved[i] || !r.active[g.Node] || r.load[g.Node] != hi {
			continue
		}
		held := r.perColo[nodeColocation{g.Node, g.Colocation}]
		for _, n := range r.nodes {
			if r.load[n] != lo {
				continue
			}
			skew := held - r.perColo[nodeColocation{n, g.Colocation}]
			if !ok || skew > bestSkew || skew == bestSkew && g.Bytes < bestBytes {
				best, target, ok = i, n, true
				bestSkew, bestBytes = skew, g.Bytes
			}
		}
	}
	return best, target, ok
}

// balanceSize moves groups to the least loaded node while that makes the
// loads more even; see PlanRebalance.
func (r *rebalancer) balanceSize() {
	for range len(r.groups) {
		i, target, ok := r.pickSizeMove()
		if !ok {
			return
		}
		r.move(i, target)
	}
}

// pickSizeMove picks the group not yet moved whose move to the least
// loaded node leaves the smallest spread, then the smallest difference
// between its source and the target, then the first by (Colocation, Index).
// It reports false if no move strictly improves the loads.
func (r *rebalancer) pickSizeMove() (best int, target catalog.NodeID, ok bool) {
	if len(r.nodes) < 2 {
		return 0, 0, false
	}
	target = r.lightest()
	lo, hi := r.extremes()
	bestSpread, bestGap := hi-lo, int64(math.MaxInt64)
	others := make(map[catalog.NodeID][2]int64) // extremes without source and target
	for i, g := range r.groups {
		w := r.weight(g)
		if r.moved[i] || !r.active[g.Node] || g.Node == target || w == 0 {
			continue
		}
		o, seen := others[g.Node]
		if !seen {
			o[0], o[1] = r.extremes(g.Node, target)
			others[g.Node] = o
		}
		src, dst := r.load[g.Node]-w, r.load[target]+w
		spread := max(src, dst, o[1]) - min(src, dst, o[0])
		gap := max(src-dst, dst-src)
		if gap >= r.load[g.Node]-r.load[target] {
			continue // the two nodes end up no closer
		}
		if spread < bestSpread || spread == bestSpread && gap < bestGap {
			best, ok = i, true
			bestSpread, bestGap = spread, gap
		}
	}
	return best, target, ok
}
