package executor

import (
	"context"
	"fmt"
)

// Gather runs its targets on their nodes in parallel and concatenates the
// rows. Its command tag adds up the row counts of all targets.
type Gather struct {
	Targets []Target
	Cols    []Column
	// Text asks for text results; see Route.
	Text bool
	// Verb overrides the command tag's verb (e.g. for DDL).
	Verb string
	// Replicated: every target holds the same rows (a reference table);
	// rows and count come from the first target, the others only run.
	Replicated bool
	// HiddenFrom, when > 0, is the first column fetched only for the
	// coordinator (sort keys): those come as text, the columns before it
	// in the client's formats.
	HiddenFrom int
	// ClientFormat maps columns fetched in the format the client asked
	// for another column (worker column -> output column) when Text is
	// set: values the coordinator passes on without reading.
	ClientFormat map[int]int
}

// formats returns the result formats to ask the nodes for.
func (g *Gather) formats(rt *Runtime) []int16 {
	switch {
	case g.Text && len(g.ClientFormat) > 0:
		f := make([]int16, len(g.Cols))
		for c, out := range g.ClientFormat {
			f[c] = rt.ResultFormat(out)
		}
		return f
	case g.Text:
		return nil
	case g.HiddenFrom > 0:
		f := make([]int16, len(g.Cols))
		for i := 0; i < g.HiddenFrom && i < len(f); i++ {
			f[i] = rt.ResultFormat(i)
		}
		return f
	}
	return rt.ResultFormats
}

var _ Operator = (*Gather)(nil)

// openStreams starts every target and returns one stream per target.
func (g *Gather) openStreams(ctx context.Context, rt *Runtime, params Params) ([]*nodeStream, error) {
	formats := g.formats(rt)
	streams := make([]*nodeStream, 0, len(g.Targets))
	for _, t := range g.Targets {
		s, err := startTarget(ctx, rt, t, params, formats, len(g.Targets) > 1)
		if err != nil {
			for _, s := range streams {
				s.Close()
			}
			return nil, err
		}
		streams = append(streams, s)
	}
	return streams, nil
}

func (g *Gather) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	ctx, cancel := context.WithCancel(ctx)
	streams, err := g.openStreams(ctx, rt, params)
	if err != nil {
		cancel()
		return nil, err
	}
	return &concatRows{streams: streams, verb: g.Verb, cancel: cancel, replicated: g.Replicated}, nil
}

func (g *Gather) Columns() []Column { return g.Cols }

func (g *Gather) Explain() Description {
	d := Description{Operator: "Gather", Detail: []string{fmt.Sprintf("Tasks: %d", len(g.Targets))}}
	if len(g.Targets) > 0 {
		d.Fragment = &g.Targets[0]
	}
	for _, t := range g.Targets {
		for _, s := range t.SQL {
			d.Detail = append(d.Detail, fmt.Sprintf("Node %s: %s", t.Node.Name, s))
		}
	}
	return d
}

// concatRows reads the streams one after another. The nodes work on their
// parts while earlier streams are read.
type concatRows struct {
	streams []*nodeStream
	i       int
	err     error
	verb    string
	cancel  context.CancelFunc
	// replicated: only the first stream's rows are passed on.
	replicated bool
}

func (c *concatRows) Next() bool {
	for c.i < len(c.streams) {
		s := c.streams[c.i]
		if s.Next() {
			if c.replicated && c.i > 0 {
				continue
			}
			return true
		}
		if err := s.Err(); err != nil {
			c.err = err
			return false
		}
		c.i++
	}
	return false
}

func (c *concatRows) Values() [][]byte { return c.streams[c.i].Values() }

func (c *concatRows) Err() error { return c.err }

func (c *concatRows) Close() (string, error) {
	if c.err != nil {
		// Stop the other nodes' work instead of waiting for it.
		c.cancel()
	}
	defer c.cancel()
	if c.replicated {
		_, err := closeStreams(c.streams, c.err, c.verb)
		verb := c.verb
		if verb == "" {
			verb = c.streams[0].verb
		}
		return formatTag(verb, c.streams[0].rows), err
	}
	return closeStreams(c.streams, c.err, c.verb)
}

// closeStreams closes every stream, adds up their tags and returns the
// first error.
func closeStreams(streams []*nodeStream, err error, verb string) (string, error) {
	var rows int64
	for _, s := range streams {
		_, cerr := s.Close()
		if err == nil {
			err = cerr
		}
		rows += s.rows
		if verb == "" {
			verb = s.verb
		}
	}
	return formatTag(verb, rows), err
}
