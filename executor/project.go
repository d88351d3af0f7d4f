package executor

import "context"

// Project passes on the first len(Cols) columns of its input, dropping the
// columns that were only fetched to sort by.
type Project struct {
	Input Operator
	Cols  []Column
}

var _ Operator = (*Project)(nil)

func (p *Project) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	in, err := openStep(ctx, rt, p.Input, params)
	if err != nil {
		return nil, err
	}
	return &projectRows{Rows: in, n: len(p.Cols)}, nil
}

func (p *Project) Columns() []Column { return p.Cols }

func (p *Project) Explain() Description {
	return Description{Operator: "Project", Inputs: []Description{Describe(p.Input)}}
}

type projectRows struct {
	Rows
	n int
}

func (r *projectRows) Values() [][]byte { return r.Rows.Values()[:r.n] }
