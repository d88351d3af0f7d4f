package executor

import "context"

// Values returns rows computed by the coordinator itself (text format).
type Values struct {
	Cols []Column
	Rows [][][]byte
	// Tag is the command tag (default "SELECT n").
	Tag string
}

var _ Operator = (*Values)(nil)

func (v *Values) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	return &valuesRows{bufferedRows: bufferedRows{rows: v.Rows, i: -1}, tag: v.Tag}, nil
}

func (v *Values) Columns() []Column { return v.Cols }

func (v *Values) Explain() Description { return Description{Operator: "Values"} }

type valuesRows struct {
	bufferedRows
	tag string
}

func (r *valuesRows) Close() (string, error) {
	if r.tag != "" {
		return r.tag, nil
	}
	return r.bufferedRows.Close()
}
