package executor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Steps collects, while a plan runs for EXPLAIN ANALYZE, the rows each
// operator returned and the time spent in it (its inputs included, as in
// PostgreSQL's EXPLAIN ANALYZE).
type Steps struct {
	stats map[Operator]*StepStats
}

// StepStats is what one operator did.
type StepStats struct {
	Rows int64
	Time time.Duration
	// Notes say which of its ways an operator took.
	Notes []string
}

// NewSteps returns an empty collection.
func NewSteps() *Steps { return &Steps{stats: map[Operator]*StepStats{}} }

// For returns the statistics of op, if it ran.
func (s *Steps) For(op Operator) (StepStats, bool) {
	if s == nil || op == nil {
		return StepStats{}, false
	}
	st, ok := s.stats[op]
	if !ok {
		return StepStats{}, false
	}
	return *st, true
}

// note records, when the runtime collects steps, how op ran.
func note(rt *Runtime, op Operator, text string) {
	if rt.Steps != nil {
		st := rt.Steps.of(op)
		st.Notes = append(st.Notes, text)
	}
}

// of returns op's statistics, created on first use.
func (s *Steps) of(op Operator) *StepStats {
	st := s.stats[op]
	if st == nil {
		st = &StepStats{}
		s.stats[op] = st
	}
	return st
}

// openStep opens op, measured when the runtime collects steps. Operators
// open their inputs through it.
func openStep(ctx context.Context, rt *Runtime, op Operator, params Params) (Rows, error) {
	if rt.Steps == nil {
		return op.Open(ctx, rt, params)
	}
	st := rt.Steps.of(op)
	start := time.Now()
	rows, err := op.Open(ctx, rt, params)
	st.Time += time.Since(start)
	if err != nil {
		return nil, err
	}
	return &measuredRows{Rows: rows, st: st}, nil
}

// measuredRows counts the rows of a stream and the time spent in it.
type measuredRows struct {
	Rows
	st *StepStats
}

func (m *measuredRows) Next() bool {
	start := time.Now()
	ok := m.Rows.Next()
	m.st.Time += time.Since(start)
	if ok {
		m.st.Rows++
	}
	return ok
}

func (m *measuredRows) Close() (string, error) {
	start := time.Now()
	tag, err := m.Rows.Close()
	m.st.Time += time.Since(start)
	return tag, err
}

// Describe returns op's EXPLAIN entry, tied to op so that EXPLAIN ANALYZE
// finds its statistics. Operators describe their inputs through it.
func Describe(op Operator) Description {
	d := op.Explain()
	d.Op = op
	return d
}

// PlanLines renders a distributed plan as EXPLAIN's lines, one operator
// per line with its details indented below; with steps, each operator
// that ran shows its rows and time.
func PlanLines(d Description, steps *Steps) []string {
	return appendPlanLines(nil, d, 0, steps)
}

func appendPlanLines(lines []string, d Description, depth int, steps *Steps) []string {
	pad := strings.Repeat("  ", depth)
	arrow := ""
	if depth > 0 {
		arrow = "->  "
	}
	line := pad + arrow + d.Operator
	st, ran := steps.For(d.Op)
	if ran {
		line += fmt.Sprintf("  (actual rows=%d time=%.3f ms)", st.Rows, float64(st.Time.Microseconds())/1000)
	}
	lines = append(lines, line)
	for _, s := range d.Detail {
		lines = append(lines, pad+"      "+s)
	}
	for _, s := range st.Notes {
		lines = append(lines, pad+"      Ran: "+s)
	}
	for _, in := range d.Inputs {
		lines = appendPlanLines(lines, in, depth+1, steps)
	}
	return lines
}
