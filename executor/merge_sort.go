package executor

import (
	"container/heap"
	"context"
	"fmt"
)

// MergeSort merges the sorted streams of its Gather's targets into one
// sorted stream (a k-way heap merge). Rows are not copied: a row stays in
// its stream's buffer until it has been passed on.
type MergeSort struct {
	Input *Gather
	Keys  []SortKey
	// DistinctOn, when above 0, passes only the first of the rows equal
	// in the first DistinctOn keys (SELECT DISTINCT ON, each node having
	// kept its own first row of each group).
	DistinctOn int
}

var _ Operator = (*MergeSort)(nil)

func (m *MergeSort) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	ctx, cancel := context.WithCancel(ctx)
	streams, err := m.Input.openStreams(ctx, rt, params)
	if err != nil {
		cancel()
		return nil, err
	}
	keys := append([]SortKey(nil), m.Keys...)
	if !m.Input.Text {
		for i := range keys {
			if m.Input.HiddenFrom == 0 || keys[i].Col < m.Input.HiddenFrom {
				keys[i].Binary = rt.ResultFormat(keys[i].Col) == BinaryFormat
			}
		}
	}
	r := &mergeRows{streams: streams, keys: keys, last: -1, cancel: cancel, distinctOn: m.DistinctOn}
	for i, s := range streams {
		if s.Next() {
			r.h = append(r.h, i)
		} else if err := s.Err(); err != nil {
			r.err = err
			break
		}
	}
	r.heapify()
	return r, nil
}

func (m *MergeSort) Columns() []Column { return m.Input.Columns() }

func (m *MergeSort) Explain() Description {
	d := Description{Operator: "Merge Sort", Inputs: []Description{Describe(m.Input)}}
	for _, k := range m.Keys {
		d.Detail = append(d.Detail, fmt.Sprintf("key: column %d desc=%v nulls_first=%v", k.Col+1, k.Desc, k.NullsFirst))
	}
	if m.DistinctOn > 0 {
		d.Detail = append(d.Detail, fmt.Sprintf("first row of each group of the first %d keys (DISTINCT ON)", m.DistinctOn))
	}
	return d
}

type mergeRows struct {
	streams []*nodeStream
	keys    []SortKey
	// h is a heap of the indexes of streams with a current row; its top
	// is the stream whose row Values returns.
	h      []int
	last   int // stream whose row was returned last (-1: none yet)
	err    error
	cancel context.CancelFunc
	// distinctOn and prev: with DISTINCT ON, the number of group keys and
	// the last returned row's key values (other columns nil).
	distinctOn int
	prev       [][]byte
}

func (r *mergeRows) Len() int { return len(r.h) }
func (r *mergeRows) Less(i, j int) bool {
	c := compareRows(r.keys, r.streams[r.h[i]].Values(), r.streams[r.h[j]].Values())
	if c == 0 {
		return r.h[i] < r.h[j]
	}
	return c < 0
}
func (r *mergeRows) Swap(i, j int) { r.h[i], r.h[j] = r.h[j], r.h[i] }
func (r *mergeRows) Push(x any)    { r.h = append(r.h, x.(int)) }
func (r *mergeRows) Pop() any {
	x := r.h[len(r.h)-1]
	r.h = r.h[:len(r.h)-1]
	return x
}

func (r *mergeRows) heapify() { heap.Init(r) }

func (r *mergeRows) Next() bool {
	for r.advance() {
		if r.distinctOn == 0 {
			return true
		}
		row := r.Values()
		if r.prev != nil && compareRows(r.keys[:r.distinctOn], r.prev, row) == 0 {
			continue // a later row of the group just returned
		}
		r.remember(row)
		return true
	}
	return false
}

// remember keeps the group keys of row, the one being returned.
func (r *mergeRows) remember(row [][]byte) {
	if r.prev == nil {
		r.prev = make([][]byte, len(row))
	}
	for _, k := range r.keys[:r.distinctOn] {
		if row[k.Col] == nil {
			r.prev[k.Col] = nil
			continue
		}
		r.prev[k.Col] = append(r.prev[k.Col][:0], row[k.Col]...)
		if r.prev[k.Col] == nil {
			r.prev[k.Col] = []byte{}
		}
	}
}

// advance moves to the next row in key order.
func (r *mergeRows) advance() bool {
	if r.err != nil {
		return false
	}
	if r.last >= 0 {
		// The top's row was passed on: move that stream to its next row
		// and restore the heap in place (no pop and push).
		s := r.streams[r.last]
		if s.Next() {
			heap.Fix(r, 0)
		} else if err := s.Err(); err != nil {
			r.err = err
			return false
		} else {
			heap.Pop(r)
		}
		r.last = -1
	}
	if len(r.h) == 0 {
		return false
	}
	r.last = r.h[0]
	return true
}

func (r *mergeRows) Values() [][]byte { return r.streams[r.last].Values() }

func (r *mergeRows) Err() error { return r.err }

func (r *mergeRows) Close() (string, error) {
	if r.err != nil {
		r.cancel()
	}
	defer r.cancel()
	tag, err := closeStreams(r.streams, r.err, "")
	return tag, err
}
