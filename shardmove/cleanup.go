package shardmove

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/gtm"
)

// cleanup finishes what a move left behind: a move that did not switch is
// aborted and its target copies, subscription, publication and slot are
// dropped; a switched move loses its source copies. The record is
// forgotten once nothing is left.
func (m *Mover) cleanup(ctx context.Context, rec catalog.Move) error {
	if rec.State == catalog.MoveCopying || rec.State == catalog.MoveFrozen {
		snap, err := m.cfg.Store.Apply(ctx, catalog.FinishMove{ID: rec.ID, Commit: false})
		if err != nil && !errors.Is(err, catalog.ErrMoveState) {
			return fmt.Errorf("aborting move %s: %w", rec.ID, err)
		}
		if snap == nil {
			snap = m.cfg.Store.Snapshot()
		}
		cur, ok := snap.Move(rec.ID)
		if !ok {
			return nil
		}
		rec = cur
	}
	snap := m.cfg.Store.Snapshot()
	tables := shardTables(snap, rec.Shards)
	var errs []error
	src, srcOK := snap.Node(rec.Source)
	dst, dstOK := snap.Node(rec.Target)
	if dstOK {
		errs = append(errs, m.dropSubscription(ctx, dst, rec.ID))
	}
	if srcOK {
		errs = append(errs, m.dropPublication(ctx, src, rec.ID))
	}
	// The copies that lost: the target's after an abort, the source's
	// after a switch (unless the move added a copy).
	var n catalog.Node
	var ok bool
	switch {
	case rec.State == catalog.MoveAborted:
		n, ok = dst, dstOK
	case !rec.Copy:
		n, ok = src, srcOK
	}
	if ok && len(tables) > 0 {
		var stmts []string
		for _, t := range tables {
			stmts = append(stmts, "DROP TABLE IF EXISTS "+t.quoted())
		}
		errs = append(errs, m.exec(ctx, n, m.cfg.ShardDB, stmts...))
	}
	if len(tables) > 0 {
		marker := "DROP TABLE IF EXISTS " + markerTable(tables[0].schema, rec.ID)
		if srcOK {
			errs = append(errs, m.exec(ctx, src, m.cfg.ShardDB, marker))
		}
		if dstOK {
			errs = append(errs, m.exec(ctx, dst, m.cfg.ShardDB, marker))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := m.cfg.Store.Apply(ctx, catalog.ForgetMove{ID: rec.ID})
	return err
}

// Recover cleans up the moves nobody works on any more: their coordinator
// run is over, or it says it does not run them, or it has not answered
// for longer than the grace period. It returns how many it cleaned up.
func (m *Mover) Recover(ctx context.Context) (int, error) {
	snap := m.cfg.Store.Snapshot()
	var errs []error
	done := 0
	for _, rec := range snap.Moves() {
		if !m.abandoned(ctx, snap, rec) {
			continue
		}
		m.log.Info("shard move: cleaning up an abandoned move", "move", rec.ID, "state", rec.State, "coordinator", rec.Coordinator)
		if err := m.cleanup(ctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("move %s: %w", rec.ID, err))
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

func (m *Mover) abandoned(ctx context.Context, snap *catalog.Snapshot, rec catalog.Move) bool {
	owner := gtm.OwnerCheck{Self: m.cfg.Incarnation, InFlight: m.InFlight, Ping: m.cfg.Ping, Grace: m.cfg.Grace}
	return owner.Abandoned(ctx, snap, rec.Incarnation, rec.ID, time.UnixMilli(rec.StartedMillis))
}

// Run cleans up abandoned moves every interval while leader() is true,
// until ctx ends.
func (m *Mover) Run(ctx context.Context, interval time.Duration, leader func() bool) {
	gtm.Every(ctx, 0, interval, func() {
		if !leader() {
			return
		}
		if n, err := m.Recover(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("shard moves: cleanup pass incomplete", "err", err)
		} else if n > 0 {
			m.log.Info("shard moves: cleaned up abandoned moves", "moves", n)
		}
	})
}
