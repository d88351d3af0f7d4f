package executor

import (
	"context"
	"fmt"
)

// ShardChooser picks which of a Route's targets runs a statement, from the
// bound parameters (the distribution key given as $n).
type ShardChooser interface {
	Choose(params Params) (int, error)
	String() string
}

// Route runs one statement on one data node and streams its rows through
// unchanged: the router tier.
type Route struct {
	// Targets are indexed by shard; Chooser picks one at run time. With a
	// nil Chooser the route has exactly one target.
	Targets []Target
	Chooser ShardChooser
	Cols    []Column
	// Text asks the node for text results (a parent operator decodes them)
	// instead of the client's formats.
	Text bool
}

var _ Operator = (*Route)(nil)

func (r *Route) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	i := 0
	if r.Chooser != nil {
		var err error
		if i, err = r.Chooser.Choose(params); err != nil {
			return nil, err
		}
	}
	formats := rt.ResultFormats
	if r.Text {
		formats = nil
	}
	return startTarget(ctx, rt, r.Targets[i], params, formats, false)
}

func (r *Route) Columns() []Column { return r.Cols }

func (r *Route) Explain() Description {
	d := Description{Operator: "Route", Fragment: &r.Targets[0]}
	if r.Chooser != nil {
		d.Detail = append(d.Detail, fmt.Sprintf("shard chosen by %s among %d", r.Chooser, len(r.Targets)))
		d.Detail = append(d.Detail, "SQL: "+r.Targets[0].SQL[0])
	} else {
		d.Detail = append(d.Detail, "Node: "+r.Targets[0].Node.Name)
		for _, s := range r.Targets[0].SQL {
			d.Detail = append(d.Detail, "SQL: "+s)
		}
	}
	return d
}
