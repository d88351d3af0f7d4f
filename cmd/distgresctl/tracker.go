package main

import (
	"context"
	"fmt"
	"time"
)

// movesPollSQL is what the progress bar asks for every pollEvery.
const movesPollSQL = "SELECT id, state, bytes_total, bytes_done FROM distgres_moves()"

// move is one row of distgres_moves(): a shard group being moved.
type move struct {
	id         string
	bytesTotal int64 // -1: unknown
	bytesDone  int64 // 0 when unknown
}

// size is what the move copies in all: its total when known, else what it
// had copied when last seen.
func (m move) size() int64 {
	if m.bytesTotal >= 0 {
		return m.bytesTotal
	}
	return m.bytesDone
}

// pollMoves reads the moves in progress.
func pollMoves(ctx context.Context, q querier) ([]move, error) {
	res, err := q.query(ctx, movesPollSQL)
	if err != nil {
		return nil, err
	}
	moves := make([]move, 0, len(res.rows))
	for _, row := range res.rows {
		if len(row) != 4 {
			return nil, fmt.Errorf("distgres_moves(): expected 4 columns, got %d", len(row))
		}
		m := move{id: formatValue(row[0]), bytesTotal: -1}
		if n, ok := asInt64(row[2]); ok {
			m.bytesTotal = n
		}
		if n, ok := asInt64(row[3]); ok {
			m.bytesDone = n
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// estimate is the work a call is expected to do.
type estimate struct {
	groups int   // shard groups to move; 0: unknown
	bytes  int64 // bytes to copy; 0: unknown
}

// tracker follows the moves of one call through successive samples of
// distgres_moves(). The call's moves are those that appear after it
// starts; a move that disappears is done.
type tracker struct {
	expect        estimate
	others        map[string]bool // moves running before the call started
	active        map[string]move
	finished      int
	finishedBytes int64
}

// newTracker starts tracking with before, the moves in progress before the
// call started (they belong to someone else).
func newTracker(expect estimate, before []move) *tracker {
	t := &tracker{expect: expect, others: map[string]bool{}, active: map[string]move{}}
	for _, m := range before {
		t.others[m.id] = true
	}
	return t
}

// observe takes one sample of distgres_moves().
func (t *tracker) observe(moves []move) {
	now := make(map[string]move, len(moves))
	for _, m := range moves {
		if t.others[m.id] {
			continue
		}
		// A move's figures may go NULL as it ends (it is switched over
		// and cleaning up): keep the last known ones.
		if prev, ok := t.active[m.id]; ok {
			m.bytesDone = max(m.bytesDone, prev.bytesDone)
			if m.bytesTotal < 0 {
				m.bytesTotal = prev.bytesTotal
			}
		}
		now[m.id] = m
	}
	for id, m := range t.active {
		if _, ok := now[id]; !ok {
			t.finished++
			t.finishedBytes += m.size()
		}
	}
	t.active = now
}

// progress is the progress so far, elapsed after the call started.
func (t *tracker) progress(elapsed time.Duration) progress {
	p := progress{groupsDone: t.finished, bytesDone: t.finishedBytes, elapsed: elapsed}
	seen := t.finished + len(t.active)
	activeTotal, totalsKnown := int64(0), true
	for _, m := range t.active {
		p.bytesDone += m.bytesDone
		if m.bytesTotal >= 0 {
			activeTotal += m.bytesTotal
		} else {
			totalsKnown = false
		}
	}
	if t.expect.groups > 0 {
		// The estimate may be short: never show more done than in all.
		p.groupsTotal = max(t.expect.groups, seen)
	}
	switch {
	case t.expect.bytes > 0:
		p.bytesTotal = max(t.expect.bytes, p.bytesDone)
	case p.groupsTotal > 0 && seen == p.groupsTotal && totalsKnown:
		// Every group has started and each one's size is known.
		p.bytesTotal = t.finishedBytes + activeTotal
	}
	return p
}
