package shardmove

import (
	"context"
	"errors"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
)

// PlanMoves returns the moves a rebalance would make now.
func (m *Mover) PlanMoves(ctx context.Context, s Strategy) ([]PlannedMove, error) {
	snap := m.cfg.Store.Snapshot()
	var sizes []NodeSize
	if s == BySize {
		sizes = m.Sizes(ctx, snap)
	}
	return PlanRebalance(snap.Nodes(), Groups(snap, sizes), s)
}

// Rebalance plans and runs the moves of strategy s, at most parallel at a
// time, and returns how many it made. It stops starting moves at the first
// failure and returns that failure once the running ones have ended.
func (m *Mover) Rebalance(ctx context.Context, s Strategy, parallel int) (int, error) {
	plan, err := m.PlanMoves(ctx, s)
	if err != nil {
		return 0, planError(err)
	}
	return m.runPlan(ctx, plan, parallel)
}

func (m *Mover) runPlan(ctx context.Context, plan []PlannedMove, parallel int) (int, error) {
	if parallel < 1 {
		return 0, pgerr.New(pgerr.InvalidParameterValue, "max parallel moves must be at least 1")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		done  int
		first error
	)
	slots := make(chan struct{}, parallel)
	for _, pm := range plan {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := m.run(ctx, pm.Group.ShardIDs, pm.Source, pm.Target, false)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				cancel()
				return
			}
			done++
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = pgerr.New(pgerr.QueryCanceled, "rebalance cancelled after %d moves", done)
	}
	return done, first
}

func planError(err error) error {
	if errors.Is(err, ErrNoTarget) {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "no active data node can take shards").WithHint("Add a node with distgresctl node add, or activate a drained one.")
	}
	if errors.Is(err, ErrUnknownStrategy) {
		return pgerr.New(pgerr.InvalidParameterValue, "%s", err.Error())
	}
	return err
}

// Drain moves every shard group off the node named name and drops its
// reference-table copies, leaving it draining (and empty). It returns the
// number of shard groups moved.
func (m *Mover) Drain(ctx context.Context, name string, s Strategy, parallel int) (int, error) {
	snap := m.cfg.Store.Snapshot()
	n, err := nodeNamed(snap, name)
	if err != nil {
		return 0, err
	}
	if n.State != catalog.NodeDraining {
		if snap, err = m.cfg.Store.Apply(ctx, catalog.SetNodeState{Name: name, State: catalog.NodeDraining}); err != nil {
			return 0, err
		}
	}
	var sizes []NodeSize
	if s == BySize {
		sizes = m.Sizes(ctx, snap)
	}
	plan, err := PlanDrain(snap.Nodes(), Groups(snap, sizes), n.ID, s)
	if err != nil {
		return 0, planError(err)
	}
	moved, err := m.runPlan(ctx, plan, parallel)
	if err != nil {
		return moved, err
	}
	return moved, m.dropReferenceCopies(ctx, n)
}

// dropReferenceCopies removes node n from the placements of reference
// tables that have another copy, then drops its copies.
func (m *Mover) dropReferenceCopies(ctx context.Context, n catalog.Node) error {
	snap := m.cfg.Store.Snapshot()
	var drops []string
	for _, t := range snap.Tables() {
		if t.Method != catalog.MethodReplication {
			continue
		}
		for _, sh := range t.Shards {
			rest := make([]catalog.NodeID, 0, len(sh.Placements))
			for _, id := range sh.Placements {
				if id != n.ID {
					rest = append(rest, id)
				}
			}
			if len(rest) == len(sh.Placements) {
				continue
			}
			if len(rest) == 0 {
				return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "data node %s holds the only copy of reference table %s", n.Name, t.QualifiedName())
			}
			if _, err := m.cfg.Store.Apply(ctx, catalog.SetPlacement{ShardID: sh.ID, Nodes: rest}); err != nil {
				return err
			}
			drops = append(drops, "DROP TABLE IF EXISTS "+shardTables(snap, []int64{sh.ID})[0].quoted())
		}
	}
	if len(drops) == 0 {
		return nil
	}
	if err := m.exec(ctx, n, m.cfg.ShardDB, drops...); err != nil {
		m.log.Warn("drain: could not drop the node's reference-table copies; they are no longer used", "node", n.Name, "err", err)
	}
	return nil
}

// Activate lets a draining node take shards again.
func (m *Mover) Activate(ctx context.Context, name string) error {
	snap := m.cfg.Store.Snapshot()
	n, err := nodeNamed(snap, name)
	if err != nil {
		return err
	}
	if n.State == catalog.NodeJoining {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "data node %s is still joining; run distgresctl node add again to finish", name)
	}
	_, err = m.cfg.Store.Apply(ctx, catalog.SetNodeState{Name: name, State: catalog.NodeActive})
	return err
}

// Remove takes an empty node out of the catalog.
func (m *Mover) Remove(ctx context.Context, name string) error {
	snap := m.cfg.Store.Snapshot()
	n, err := nodeNamed(snap, name)
	if err != nil {
		return err
	}
	for _, mv := range snap.Moves() {
		if mv.Source == n.ID || mv.Target == n.ID {
			return pgerr.New(pgerr.ObjectInUse, "data node %s takes part in shard move %s", name, mv.ID)
		}
	}
	if len(snap.ActiveNodes()) == 1 && snap.ActiveNodes()[0].ID == n.ID {
		return pgerr.New(pgerr.ObjectInUse, "data node %s is the last active node", name)
	}
	_, err = m.cfg.Store.Apply(ctx, catalog.RemoveNode{Name: name})
	if errors.Is(err, catalog.ErrNodeInUse) {
		return pgerr.New(pgerr.ObjectInUse, "data node %s still holds shards", name).WithHint("Run distgresctl node drain %s first.", name)
	}
	return err
}
