package main

import (
	"context"
	"io"
	"strings"
	"time"
)

// queryWatched runs sql, a call that moves shard groups. When the session
// shows progress, it polls distgres_moves() on a second connection while
// the call runs and redraws a one-line bar; expect tells it how much work
// to expect. Progress is best effort: if it cannot be shown, the call
// runs without it.
func (s *session) queryWatched(ctx context.Context, sql string, expect func(context.Context, querier) (estimate, error)) (*result, error) {
	if s.openPoller == nil {
		return s.db.query(ctx, sql)
	}
	est, err := expect(ctx, s.db)
	if err != nil {
		est = estimate{}
	}
	poller, closePoller, err := s.openPoller(ctx)
	if err != nil {
		return s.db.query(ctx, sql)
	}
	defer closePoller()
	before, err := pollMoves(ctx, poller)
	if err != nil {
		return s.db.query(ctx, sql)
	}
	t := newTracker(est, before)

	start := time.Now()
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var res *result
	var qerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stopPolling()
		res, qerr = s.db.query(ctx, sql)
	}()

	b := &bar{w: s.out}
	tick := time.NewTicker(s.pollEvery)
	defer tick.Stop()
	polling := true
loop:
	for {
		if polling {
			moves, err := pollMoves(pollCtx, poller)
			if polling = err == nil; polling {
				t.observe(moves)
			}
		}
		if pollCtx.Err() == nil {
			b.draw(t.progress(time.Since(start)).line())
		}
		select {
		case <-pollCtx.Done():
			break loop
		case <-tick.C:
		}
	}
	<-done
	if qerr == nil && polling {
		// One last look, so the bar ends on what was done.
		if moves, err := pollMoves(ctx, poller); err == nil {
			t.observe(moves)
			b.draw(t.progress(time.Since(start)).line())
		}
	}
	b.end()
	return res, qerr
}

// bar rewrites one line of a terminal.
type bar struct {
	w    io.Writer
	last int // length of the line shown
}

func (b *bar) draw(line string) {
	pad := strings.Repeat(" ", max(b.last-len(line), 0))
	io.WriteString(b.w, "\r"+line+pad)
	b.last = len(line)
}

// end ends the line, if one was drawn.
func (b *bar) end() {
	if b.last > 0 {
		io.WriteString(b.w, "\n")
	}
}
