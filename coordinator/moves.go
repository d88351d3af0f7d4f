package coordinator

import (
	"context"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
)

// While a shard move cuts over, the catalog marks its shard group frozen:
// writes to the group's tables wait here, before they reach a data node,
// and are planned again afterwards against the new placement. Reads go
// on. The wait is bounded so that a cut-over that never ends (its
// coordinator died) turns into an error until recovery aborts it.

// frozenWriteWait bounds how long a write waits for a cut-over.
const frozenWriteWait = 30 * time.Second

// awaitWrites waits while writes to colocation group colocation are
// frozen. waited reports whether it waited (the caller plans again).
func (ss *session) awaitWrites(ctx context.Context, colocation uint32) (waited bool, err error) {
	if colocation == 0 || !ss.srv.cfg.Catalog.Snapshot().WritesFrozen(colocation) {
		return false, nil
	}
	deadline := time.Now().Add(frozenWriteWait)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for ss.srv.cfg.Catalog.Snapshot().WritesFrozen(colocation) {
		if time.Now().After(deadline) {
			return true, pgerr.New(pgerr.LockNotAvailable, "a shard move holds writes to this table back").
				WithHint("Retry; the move finishes its cut-over or is rolled back.")
		}
		select {
		case <-ctx.Done():
			return true, cancelErr()
		case <-t.C:
		}
	}
	return true, nil
}

// awaitPlanWrites is awaitWrites for a plan.
func (ss *session) awaitPlanWrites(ctx context.Context, p *planner.Plan) (bool, error) {
	if p == nil || !p.Writes {
		return false, nil
	}
	return ss.awaitWrites(ctx, p.WriteColocation)
}

// retryAfterMove reports whether a statement that failed before anything
// was sent to the client should run again with a new plan: outside a
// transaction block, a shard table it used is gone (a move dropped the
// source copy, with the statement waiting on its lock) and the placements
// changed since the plan was made. Nothing of the statement took effect:
// a single-node statement failed, and a multi-node one's implicit
// transaction was rolled back.
//
// A coordinator that is a Raft follower may run the statement before it
// applied the move's switch, on the source copy the move already dropped:
// it then waits, up to catchUpWait, for its catalog to move on.
func (ss *session) retryAfterMove(ctx context.Context, err error, p *planner.Plan) bool {
	if pgerr.Code(err) != pgerr.UndefinedTable || ss.tx != nil {
		return false
	}
	deadline := time.Now().Add(catchUpWait)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for p.CatalogVersion == ss.srv.cfg.Catalog.Snapshot().SchemaVersion() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// maxMoveRetries bounds how many times a statement is planned again
// because moves dropped shard tables under its plan.
const maxMoveRetries = 4

// catchUpWait bounds how long a statement that found a shard table gone
// waits for its coordinator's catalog to show why.
const catchUpWait = 5 * time.Second

// checkNoMoves refuses DDL on distributed tables while shards move: the
// copies on the move targets would miss it.
func checkNoMoves(snap *catalog.Snapshot, d *planner.DDL, shardDB string) error {
	if len(snap.Moves()) == 0 {
		return nil
	}
	touches := len(d.Before) > 0 || len(d.After) > 0
	if !touches && d.Work != nil {
		targets, _ := d.Work(snap)
		touches = worksOnShards(targets, shardDB)
	}
	if !touches {
		return nil
	}
	return pgerr.New(pgerr.ObjectInUse, "shards are being moved; DDL on distributed tables waits until the moves end").
		WithHint("Retry after the rebalance; distgresctl status lists the moves in progress.")
}

func worksOnShards(targets []executor.Target, shardDB string) bool {
	for _, t := range targets {
		if t.Database == shardDB {
			return true
		}
	}
	return false
}
