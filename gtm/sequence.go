package gtm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/distgres/distgres/catalog"
)

// sequenceRanges are the values of global sequences this coordinator has
// allocated and not handed out yet.
type sequenceRanges struct {
	mu     sync.Mutex
	ranges map[[2]string]*seqRange
}

type seqRange struct {
	next, inc int64
	left      int64
}

// NextValues hands out n values of the global sequence schema.name, from
// this coordinator's current range, allocating a new range through the
// log when it runs out. Values are unique across the cluster; values of a
// range not handed out before a restart are skipped (gaps, as in
// PostgreSQL).
func (m *Manager) NextValues(ctx context.Context, schema, name string, n int) ([]int64, error) {
	m.seqs.mu.Lock()
	defer m.seqs.mu.Unlock()
	if m.seqs.ranges == nil {
		m.seqs.ranges = map[[2]string]*seqRange{}
	}
	key := [2]string{schema, name}
	out := make([]int64, 0, n)
	for len(out) < n {
		r := m.seqs.ranges[key]
		if r == nil || r.left == 0 {
			var err error
			if r, err = m.allocateRange(ctx, schema, name, int64(n-len(out))); err != nil {
				return nil, err
			}
			m.seqs.ranges[key] = r
		}
		for r.left > 0 && len(out) < n {
			out = append(out, r.next)
			r.next += r.inc
			r.left--
		}
	}
	return out, nil
}

// ForgetRange drops this coordinator's unused values of a sequence (after
// setval, so that the next value follows the new position).
func (m *Manager) ForgetRange(schema, name string) {
	m.seqs.mu.Lock()
	defer m.seqs.mu.Unlock()
	delete(m.seqs.ranges, [2]string{schema, name})
}

// allocateRange claims the next block of a sequence: a compare-and-set on
// its position in the catalog, retried when another coordinator claimed a
// block first.
func (m *Manager) allocateRange(ctx context.Context, schema, name string, need int64) (*seqRange, error) {
	for attempt := 0; attempt < 50; attempt++ {
		q, ok := m.cfg.Log.Snapshot().Sequence(schema, name)
		if !ok {
			return nil, fmt.Errorf("sequence %s.%s: %w", schema, name, catalog.ErrNoSuchSequence)
		}
		block := int64(1000)
		if q.Max-q.Min < 1_000_000 {
			block = 32
		}
		count, err := q.Available(max(need, block))
		if err != nil {
			return nil, err
		}
		_, err = m.cfg.Log.Apply(ctx, catalog.AllocateSequence{Schema: schema, Name: name, From: q.Next, Count: count})
		if err == nil {
			return &seqRange{next: q.Next, inc: q.Increment, left: count}, nil
		}
		if !errors.Is(err, catalog.ErrSequenceMoved) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("sequence %s.%s: too many coordinators allocating at once: %w", schema, name, catalog.ErrSequenceMoved)
}
