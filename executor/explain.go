package executor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/distgres/distgres/pgerr"
)

// Explain answers EXPLAIN: the distributed plan's lines, then the plan a
// data node makes for one fragment (EXPLAIN with the statement's options
// on the node that runs it). With Analyze it first runs Plan to the end
// and reports its rows and time, and each step's.
type Explain struct {
	// Header names the plan's tier; Lines are the plan's lines under it.
	Header string
	Lines  []string
	// Fragment is the statement to show the node's plan of (nil: none).
	Fragment *Target
	// Options are the EXPLAIN options for the node, e.g. "(COSTS false)".
	Options string
	Analyze bool
	Plan    Operator
}

var _ Operator = (*Explain)(nil)

var explainColumns = []Column{{Name: "QUERY PLAN", TypeOID: 25, TypeSize: -1, TypeModifier: -1}}

func (e *Explain) Columns() []Column { return explainColumns }

func (e *Explain) Explain() Description {
	d := Description{Operator: "Explain", Detail: append([]string{e.Header}, e.Lines...)}
	if e.Fragment != nil && len(e.Fragment.SQL) > 0 {
		d.Detail = append(d.Detail, fmt.Sprintf("then node %s: EXPLAIN %s %s", e.Fragment.Node.Name, e.Options, e.Fragment.SQL[0]))
	}
	if e.Analyze {
		d.Detail = append(d.Detail, "after running the plan (ANALYZE)")
	}
	return d
}

func (e *Explain) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	lines := []string{e.Header}
	planLines := e.Lines
	if e.Analyze {
		start := time.Now()
		srt := *rt
		srt.ResultFormats = nil
		srt.Steps = NewSteps()
		rows, err := openStep(ctx, &srt, e.Plan, params)
		if err != nil {
			return nil, err
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
		tag, err := rows.Close()
		if err != nil {
			return nil, err
		}
		done := fmt.Sprintf("%d rows", n)
		if n == 0 && tag != "" && !strings.HasPrefix(tag, "SELECT") {
			done = tag // a write without RETURNING: what it did
		}
		lines = append([]string{fmt.Sprintf("Distributed execution: %s in %.3f ms", done, float64(time.Since(start).Microseconds())/1000)}, lines...)
		planLines = PlanLines(Describe(e.Plan), srt.Steps)
	}
	lines = append(lines, planLines...)
	if e.Fragment != nil && len(e.Fragment.SQL) > 0 {
		node, err := e.nodePlan(ctx, rt, params)
		if err != nil {
			return nil, err
		}
		lines = append(lines, "Plan of one fragment on node "+e.Fragment.Node.Name+":")
		for _, l := range node {
			lines = append(lines, "  "+l)
		}
	}
	out := make([][][]byte, len(lines))
	for i, l := range lines {
		out[i] = [][]byte{[]byte(l)}
	}
	return (&Values{Cols: explainColumns, Rows: out, Tag: "EXPLAIN"}).Open(ctx, rt, params)
}

// nodePlan runs EXPLAIN of the fragment on its node.
func (e *Explain) nodePlan(ctx context.Context, rt *Runtime, params Params) ([]string, error) {
	conn, err := rt.Conns.Acquire(ctx, e.Fragment.Node, e.Fragment.Database)
	if err != nil {
		return nil, err
	}
	sql := "EXPLAIN " + e.Options + " " + e.Fragment.SQL[0]
	res := conn.PgConn().ExecParams(ctx, sql, params.Values, params.OIDs, params.Formats, nil).Read()
	conn.Release(res.Err != nil && !pgerr.FromDataNode(res.Err))
	if res.Err != nil {
		return nil, res.Err
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, strings.TrimRight(string(r[0]), " "))
	}
	return out, nil
}
