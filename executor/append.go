package executor

import (
	"context"
)

// Append returns the rows of its inputs one after another (UNION ALL).
// Each input opens when the one before it is done: in a transaction block
// two inputs may need the same connection of a node.
type Append struct {
	Inputs []Operator
	Cols   []Column
	// Text: the inputs return text whatever the client asked for (an
	// aggregate above reads them).
	Text bool
}

var _ Operator = (*Append)(nil)

func (a *Append) Columns() []Column { return a.Cols }

func (a *Append) Explain() Description {
	d := Description{Operator: "Append"}
	for _, in := range a.Inputs {
		d.Inputs = append(d.Inputs, Describe(in))
	}
	return d
}

func (a *Append) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	if a.Text {
		trt := *rt
		trt.ResultFormats = nil
		rt = &trt
	}
	r := &appendRows{a: a, ctx: ctx, rt: rt, params: params}
	if err := r.open(0); err != nil {
		return nil, err
	}
	return r, nil
}

type appendRows struct {
	a      *Append
	ctx    context.Context
	rt     *Runtime
	params Params
	i      int
	cur    Rows
	rows   int64
	err    error
}

func (r *appendRows) open(i int) error {
	rows, err := openStep(r.ctx, r.rt, r.a.Inputs[i], r.params)
	if err != nil {
		return err
	}
	r.i, r.cur = i, rows
	return nil
}

func (r *appendRows) Next() bool {
	for r.err == nil && r.cur != nil {
		if r.cur.Next() {
			r.rows++
			return true
		}
		if r.err = r.cur.Err(); r.err != nil {
			return false
		}
		_, r.err = r.cur.Close()
		r.cur = nil
		if r.err == nil && r.i+1 < len(r.a.Inputs) {
			r.err = r.open(r.i + 1)
		}
	}
	return false
}

func (r *appendRows) Values() [][]byte { return r.cur.Values() }

func (r *appendRows) Err() error { return r.err }

func (r *appendRows) Close() (string, error) {
	err := r.err
	if r.cur != nil {
		if _, cerr := r.cur.Close(); err == nil {
			err = cerr
		}
		r.cur = nil
	}
	return formatTag("SELECT", r.rows), err
}
