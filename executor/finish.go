package executor

import (
	"context"
	"strings"
)

// Finish runs a statement's last steps in PostgreSQL over rows the
// coordinator computed: it reads Input's rows (text) and runs Target's
// statement, in which Placeholder names those rows, with the rows inlined
// as typed VALUES (columns Names of types Types). An aggregation uses it
// for what its select list, HAVING, DISTINCT, ORDER BY and LIMIT compute
// over the groups. Past Runtime.MaxBroadcastBytes of rows the statement
// text would grow too large for the node to parse well: it runs Fallback
// (the statement pulled) instead.
type Finish struct {
	Input       Operator
	Names       []string
	Types       []string
	Placeholder string
	Target      Target
	Cols        []Column
	Fallback    Operator
}

var _ Operator = (*Finish)(nil)

func (f *Finish) Columns() []Column { return f.Cols }

func (f *Finish) Explain() Description {
	pull := Describe(f.Fallback)
	pull.Operator = "Instead, past distgres.max_broadcast_size: " + pull.Operator
	clearFragments(&pull)
	return Description{
		Operator: "Finish in PostgreSQL",
		Detail:   []string{"Node: " + f.Target.Node.Name, "SQL: " + f.Target.SQL[0]},
		Inputs:   []Description{Describe(f.Input), pull},
	}
}

func (f *Finish) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	srt := *rt
	srt.ResultFormats = nil
	rows, err := openStep(ctx, &srt, f.Input, params)
	if err != nil {
		return nil, err
	}
	var v valuesText
	for rows.Next() {
		v.add(rows.Values(), f.Types)
		if rt.MaxIntermediateBytes > 0 && v.size() > rt.MaxIntermediateBytes {
			rows.Close()
			return nil, tooLarge(rt.MaxIntermediateBytes)
		}
		if rt.MaxBroadcastBytes > 0 && v.size() > rt.MaxBroadcastBytes {
			rows.Close()
			return openStep(ctx, rt, f.Fallback, params)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if _, err := rows.Close(); err != nil {
		return nil, err
	}
	prt := *rt
	prt.Inlined = strings.NewReplacer(f.Placeholder, v.query(f.Names, f.Types))
	return (&Gather{Targets: []Target{f.Target}, Cols: f.Cols}).Open(ctx, &prt, params)
}
