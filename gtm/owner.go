package gtm

import (
	"context"
	"time"

	"github.com/distgres/distgres/catalog"
)

// OwnerCheck decides whether work a coordinator run recorded in the
// catalog (a global transaction, a shard move) has been abandoned, so
// that the Raft leader may finish or undo it.
type OwnerCheck struct {
	// Self is this coordinator run's incarnation; InFlight says whether
	// it still works on id.
	Self     string
	InFlight func(id string) bool
	// Ping asks another coordinator for its incarnation and whether it
	// works on id (nil: no asking).
	Ping func(ctx context.Context, raftAddr, id string) (incarnation string, inFlight bool, err error)
	// Grace is how long work whose owner does not answer is left alone.
	Grace time.Duration
}

// Abandoned reports whether nobody works on id, recorded by run
// incarnation at started: that run is over (its coordinator restarted or
// left), or it answers that it no longer works on id, or it has not
// answered and the work is older than the grace period.
func (o OwnerCheck) Abandoned(ctx context.Context, snap *catalog.Snapshot, incarnation, id string, started time.Time) bool {
	if incarnation == o.Self {
		return !o.InFlight(id)
	}
	var owner *catalog.Coordinator
	for _, c := range snap.Coordinators() {
		if c.Incarnation == incarnation {
			owner = &c
		}
	}
	if owner == nil {
		return true
	}
	if o.Ping != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		inc, inFlight, err := o.Ping(pctx, owner.RaftAddr, id)
		cancel()
		if err == nil {
			return inc != incarnation || !inFlight
		}
	}
	return time.Since(started) > o.Grace
}

// Every calls step after first and then every interval until ctx ends.
func Every(ctx context.Context, first, interval time.Duration, step func()) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		step()
		t.Reset(interval)
	}
}
