package gtm

// Distributed deadlock detection. Each data node detects the deadlocks
// whose every wait happens on that node; a cycle that runs through several
// nodes (a block waits on node 1 for a row another block holds, which
// waits on node 2 for a row the first holds) is invisible to each of them.
// The detector on the Raft leader puts the halves together: it asks every
// data node which backends wait for which, asks every coordinator which
// transaction block each backend works for, and looks for cycles among the
// blocks. Of each cycle it cancels the block that began last.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/datanode"
)

// DefaultDeadlockInterval is how often the detector looks for cycles.
const DefaultDeadlockInterval = time.Second

// Backend is a data node backend working for a transaction block.
type Backend = catalog.BlockBackend

// lockWaitsQuery lists, on one data node (every database), the backends
// waiting for a lock and the backends they wait for.
const lockWaitsQuery = `SELECT pid, pg_catalog.pg_blocking_pids(pid) FROM pg_catalog.pg_stat_activity WHERE wait_event_type = 'Lock'`

// DeadlockConfig configures a DeadlockDetector.
type DeadlockConfig struct {
	// Catalog lists the data nodes and the coordinators.
	Catalog interface{ Snapshot() *catalog.Snapshot }
	// Pools reach the data nodes.
	Pools *datanode.Pools
	// Database is the database on every node the detector connects to
	// (the lock waits of all databases are visible from any of them).
	Database string
	// Self is this coordinator's ID; its blocks are listed and cancelled
	// through Local and CancelLocal, the other coordinators' through
	// Remote and CancelRemote at their Raft addresses.
	Self         string
	Local        func() []Backend
	CancelLocal  func(block, detail string) bool
	Remote       func(ctx context.Context, raftAddr string) ([]Backend, error)
	CancelRemote func(ctx context.Context, raftAddr, block, detail string) (bool, error)
	Logger       *slog.Logger
}

// DeadlockDetector finds deadlocks between transaction blocks that span
// data nodes and cancels one block of each.
type DeadlockDetector struct {
	cfg DeadlockConfig
	log *slog.Logger
	// seen holds the waits between blocks found by the previous round;
	// only a wait found in two rounds in a row counts, so that a wait that
	// ends by itself between the nodes' answers is not taken for part of
	// a cycle.
	seen map[blockPair]bool
}

// NewDeadlockDetector returns a detector; call Run or Round.
func NewDeadlockDetector(cfg DeadlockConfig) *DeadlockDetector {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DeadlockDetector{cfg: cfg, log: log}
}

// Deadlock is a cycle of transaction blocks each waiting for the next, and
// the block chosen to be cancelled.
type Deadlock struct {
	// Cycle is the waits of the cycle, starting with the victim's.
	Cycle []WaitEdge
	// Victim is the block that began last.
	Victim string
	// Detail describes the cycle for the victim's client.
	Detail string
}

// WaitEdge is one wait: on data node Node, backend WaiterPID of block
// Waiter waits for a lock that backend HolderPID of block Holder holds
// (or waits for ahead of it).
type WaitEdge struct {
	Waiter, Holder       string
	Node                 string
	WaiterPID, HolderPID uint32
}

// blockPair is a wait between two blocks, wherever it happens.
type blockPair struct{ waiter, holder string }

// blockInfo is what the detector knows about a block.
type blockInfo struct {
	started time.Time
	// coordinator is the ID of the coordinator running the block;
	// raftAddr is empty for this coordinator's own blocks.
	coordinator, raftAddr string
}

type backendKey struct {
	node catalog.NodeID
	pid  uint32
}

// nodeWaits are the lock waits on one data node: waiter PID -> the PIDs it
// waits for.
type nodeWaits struct {
	node  catalog.Node
	waits map[uint32][]uint32
}

// Run looks for deadlocks every interval while leader() is true, until
// ctx ends.
func (d *DeadlockDetector) Run(ctx context.Context, interval time.Duration, leader func() bool) {
	if interval <= 0 {
		interval = DefaultDeadlockInterval
	}
	Every(ctx, interval, interval, func() {
		if !leader() {
			d.seen = nil
			return
		}
		rctx, cancel := context.WithTimeout(ctx, max(2*interval, 2*time.Second))
		_, err := d.Round(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			d.log.Debug("gtm: deadlock detection round incomplete", "err", err)
		}
	})
}

// Round runs one round of detection: it cancels the victim of every
// deadlock whose waits were all also seen by the previous round, and
// returns those deadlocks. Nodes and coordinators that cannot be reached
// are left out (and reported in the error); the round still uses the
// others.
func (d *DeadlockDetector) Round(ctx context.Context) ([]Deadlock, error) {
	snap := d.cfg.Catalog.Snapshot()
	waits, errs := d.lockWaits(ctx, snap.Nodes())
	found, rerrs := d.resolve(ctx, waits, snap.Coordinators())
	return found, errors.Join(append(errs, rerrs...)...)
}

// resolve is a round after the nodes answered: it maps their lock waits
// to blocks and cancels the victims of the confirmed cycles.
func (d *DeadlockDetector) resolve(ctx context.Context, waits []nodeWaits, coords []catalog.Coordinator) ([]Deadlock, []error) {
	if len(waits) == 0 {
		d.seen = nil
		return nil, nil
	}
	blocks, owners, errs := d.backends(ctx, coords)
	confirmed, seen := confirmWaits(d.seen, waitEdges(waits, owners))
	d.seen = seen
	started := make(map[string]time.Time, len(blocks))
	for id, b := range blocks {
		started[id] = b.started
	}
	found := findDeadlocks(confirmed, started)
	for _, dl := range found {
		b := blocks[dl.Victim]
		canceled, err := d.cancel(ctx, b, dl)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("gtm: cancelling deadlocked block %s on coordinator %s: %w", dl.Victim, b.coordinator, err))
		case canceled:
			d.log.Info("gtm: distributed deadlock; cancelled the transaction block that began last",
				"block", dl.Victim, "coordinator", b.coordinator, "cycle", dl.Detail)
		default:
			// The block has no statement running any more: the wait
			// ended meanwhile. A deadlock that persists is found again.
			d.log.Debug("gtm: deadlock victim had no statement to cancel", "block", dl.Victim, "coordinator", b.coordinator)
		}
	}
	return found, errs
}

func (d *DeadlockDetector) cancel(ctx context.Context, b blockInfo, dl Deadlock) (bool, error) {
	if b.raftAddr == "" {
		if d.cfg.CancelLocal == nil {
			return false, nil
		}
		return d.cfg.CancelLocal(dl.Victim, dl.Detail), nil
	}
	if d.cfg.CancelRemote == nil {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return d.cfg.CancelRemote(cctx, b.raftAddr, dl.Victim, dl.Detail)
}

// lockWaits asks every node, in parallel, for its lock waits.
func (d *DeadlockDetector) lockWaits(ctx context.Context, nodes []catalog.Node) ([]nodeWaits, []error) {
	out := make([]nodeWaits, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			w, err := d.nodeLockWaits(ctx, n)
			if err != nil {
				errs[i] = fmt.Errorf("gtm: lock waits on data node %s: %w", n.Name, err)
				return
			}
			out[i] = nodeWaits{node: n, waits: w}
		})
	}
	wg.Wait()
	var found []nodeWaits
	for _, w := range out {
		if len(w.waits) > 0 {
			found = append(found, w)
		}
	}
	return found, slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

func (d *DeadlockDetector) nodeLockWaits(ctx context.Context, n catalog.Node) (map[uint32][]uint32, error) {
	pool, err := d.cfg.Pools.Get(ctx, int32(n.ID), n.Host, n.Port, d.cfg.Database)
	if err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, lockWaitsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	waits := map[uint32][]uint32{}
	for rows.Next() {
		var pid int32
		var holders []int32
		if err := rows.Scan(&pid, &holders); err != nil {
			return nil, err
		}
		for _, h := range holders {
			// A prepared transaction holds its locks with no backend
			// (PID 0); no block can be cancelled for it.
			if h > 0 {
				waits[uint32(pid)] = append(waits[uint32(pid)], uint32(h))
			}
		}
	}
	return waits, rows.Err()
}

// backends collects the blocks' backends of every coordinator: this one's
// through Local, the others' in parallel through Remote.
func (d *DeadlockDetector) backends(ctx context.Context, coords []catalog.Coordinator) (map[string]blockInfo, map[backendKey]string, []error) {
	blocks := map[string]blockInfo{}
	owners := map[backendKey]string{}
	add := func(list []Backend, coordinator, raftAddr string) {
		for _, b := range list {
			owners[backendKey{b.Node, b.PID}] = b.Block
			blocks[b.Block] = blockInfo{started: b.Started, coordinator: coordinator, raftAddr: raftAddr}
		}
	}
	if d.cfg.Local != nil {
		add(d.cfg.Local(), d.cfg.Self, "")
	}
	if d.cfg.Remote == nil {
		return blocks, owners, nil
	}
	others := slices.DeleteFunc(coords, func(c catalog.Coordinator) bool { return c.ID == d.cfg.Self || c.RaftAddr == "" })
	lists := make([][]Backend, len(others))
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, c := range others {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			lists[i], errs[i] = d.cfg.Remote(cctx, c.RaftAddr)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("gtm: transaction blocks of coordinator %s: %w", c.ID, errs[i])
			}
		})
	}
	wg.Wait()
	for i, c := range others {
		add(lists[i], c.ID, c.RaftAddr)
	}
	return blocks, owners, slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// waitEdges turns backend waits into waits between blocks. Waits of or for
// backends that work for no block (sessions outside a block, prepared
// transactions, other clients) and waits of a block for itself are left
// out. Each pair of blocks keeps one wait (the first by node and PIDs).
func waitEdges(waits []nodeWaits, owners map[backendKey]string) []WaitEdge {
	byPair := map[blockPair]WaitEdge{}
	for _, nw := range waits {
		for waiter, holders := range nw.waits {
			wb, ok := owners[backendKey{nw.node.ID, waiter}]
			if !ok {
				continue
			}
			for _, holder := range holders {
				hb, ok := owners[backendKey{nw.node.ID, holder}]
				if !ok || hb == wb {
					continue
				}
				e := WaitEdge{Waiter: wb, Holder: hb, Node: nw.node.Name, WaiterPID: waiter, HolderPID: holder}
				p := blockPair{wb, hb}
				if old, ok := byPair[p]; !ok || compareEdges(e, old) < 0 {
					byPair[p] = e
				}
			}
		}
	}
	return slices.SortedFunc(maps.Values(byPair), compareEdges)
}

// confirmWaits returns the waits between blocks that the previous round
// (seen) found too, and the pairs of blocks waiting now, for the next
// round.
func confirmWaits(seen map[blockPair]bool, edges []WaitEdge) ([]WaitEdge, map[blockPair]bool) {
	var confirmed []WaitEdge
	now := make(map[blockPair]bool, len(edges))
	for _, e := range edges {
		p := blockPair{e.Waiter, e.Holder}
		now[p] = true
		if seen[p] {
			confirmed = append(confirmed, e)
		}
	}
	return confirmed, now
}

func compareEdges(a, b WaitEdge) int {
	return cmp.Or(cmp.Compare(a.Waiter, b.Waiter), cmp.Compare(a.Holder, b.Holder),
		cmp.Compare(a.Node, b.Node), cmp.Compare(a.WaiterPID, b.WaiterPID), cmp.Compare(a.HolderPID, b.HolderPID))
}

// findDeadlocks finds cycles among the waits and picks the victim of
// each: the block of the cycle that began last (by started; ties go to the
// greater block ID). The victim leaves the graph before the next cycle is
// looked for, since cancelling it ends every cycle it is part of; so a
// victim is never chosen twice and no cycle is left unbroken.
func findDeadlocks(edges []WaitEdge, started map[string]time.Time) []Deadlock {
	adj := map[string][]WaitEdge{}
	for _, e := range edges {
		if e.Waiter != e.Holder {
			adj[e.Waiter] = append(adj[e.Waiter], e)
		}
	}
	for _, out := range adj {
		slices.SortFunc(out, compareEdges)
	}
	removed := map[string]bool{}
	var found []Deadlock
	for {
		cycle := findCycle(adj, removed)
		if cycle == nil {
			return found
		}
		victim := 0
		for i, e := range cycle {
			if younger(e.Waiter, cycle[victim].Waiter, started) {
				victim = i
			}
		}
		cycle = append(cycle[victim:], cycle[:victim]...)
		found = append(found, Deadlock{Cycle: cycle, Victim: cycle[0].Waiter, Detail: describeCycle(cycle)})
		removed[cycle[0].Waiter] = true
	}
}

// younger reports whether block a began after block b.
func younger(a, b string, started map[string]time.Time) bool {
	ta, tb := started[a], started[b]
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a > b
}

// findCycle returns the waits of one cycle among the blocks not removed,
// or nil. It walks the blocks in order of their IDs, so the same graph
// always gives the same cycle.
func findCycle(adj map[string][]WaitEdge, removed map[string]bool) []WaitEdge {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := map[string]int{}
	var path []WaitEdge // the waits from the walk's start to the current block
	var cycle []WaitEdge
	var visit func(block string) bool
	visit = func(block string) bool {
		state[block] = onPath
		for _, e := range adj[block] {
			if removed[e.Holder] {
				continue
			}
			switch state[e.Holder] {
			case onPath:
				// The cycle runs from where the path reached e.Holder.
				start := len(path)
				for i, p := range path {
					if p.Waiter == e.Holder {
						start = i
						break
					}
				}
				cycle = append(slices.Clone(path[start:]), e)
				return true
			case unvisited:
				path = append(path, e)
				if visit(e.Holder) {
					return true
				}
				path = path[:len(path)-1]
			}
		}
		state[block] = finished
		return false
	}
	for _, b := range slices.Sorted(maps.Keys(adj)) {
		if !removed[b] && state[b] == unvisited && visit(b) {
			return cycle
		}
	}
	return nil
}

// describeCycle says who waits for whom, one line per wait, as the DETAIL
// of the victim's error.
func describeCycle(cycle []WaitEdge) string {
	lines := make([]string, len(cycle))
	for i, e := range cycle {
		lines[i] = fmt.Sprintf("Transaction block %s waits on data node %s for transaction block %s (backend %d waits for backend %d).",
			e.Waiter, e.Node, e.Holder, e.WaiterPID, e.HolderPID)
	}
	return strings.Join(lines, "\n")
}
