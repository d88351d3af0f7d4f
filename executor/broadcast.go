package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Broadcast runs a statement over the shards of one distributed table with
// the other distributed tables it reads shipped to every node: at
// execution it reads those tables (only the rows and columns the statement
// needs) and puts their rows, as typed VALUES, into the nodes' statements
// in place of Placeholders; then it runs Plan, whose statements name the
// shipped tables by their placeholders. Past Runtime.MaxBroadcastBytes of
// shipped rows a statement's text would grow too large for the nodes to
// parse well: it runs Fallback (the statement pulled to one node) instead.
type Broadcast struct {
	Tables       []InlineTable
	Placeholders []string
	Plan         Operator
	Fallback     Operator
}

var _ Operator = (*Broadcast)(nil)

func (b *Broadcast) Columns() []Column { return b.Plan.Columns() }

func (b *Broadcast) Explain() Description {
	plan := Describe(b.Plan)
	clearFragments(&plan) // placeholders, not SQL a node can plan
	d := Description{Operator: "Broadcast", Inputs: []Description{plan}}
	for i, t := range b.Tables {
		g := (&Gather{Targets: t.Sources}).Explain()
		g.Operator = fmt.Sprintf("Ship to every node as %s", b.Placeholders[i])
		g.Fragment = nil
		d.Inputs = append(d.Inputs, g)
	}
	pull := Describe(b.Fallback)
	pull.Operator = "Instead, past distgres.max_broadcast_size: " + pull.Operator
	clearFragments(&pull)
	d.Inputs = append(d.Inputs, pull)
	return d
}

func clearFragments(d *Description) {
	d.Fragment = nil
	for i := range d.Inputs {
		clearFragments(&d.Inputs[i])
	}
}

func (b *Broadcast) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	srt := *rt
	srt.ResultFormats = nil
	// The tighter bound applies: past the broadcast bound the statement
	// is pulled, past the intermediate one it fails.
	budget := rt.MaxBroadcastBytes
	overLimit := rt.MaxIntermediateBytes > 0 && (budget == 0 || rt.MaxIntermediateBytes < budget)
	if overLimit {
		budget = rt.MaxIntermediateBytes
	}
	pairs := make([]string, 0, 2*len(b.Tables))
	for i, t := range b.Tables {
		p := Params{}
		if t.UsesParams {
			p = params
		}
		s, used, err := readValues(ctx, &srt, t, p, budget)
		if errors.Is(err, errTooLarge) {
			if overLimit {
				return nil, tooLarge(rt.MaxIntermediateBytes)
			}
			return openStep(ctx, rt, b.Fallback, params)
		}
		if err != nil {
			return nil, err
		}
		budget = max(budget-used, 1)
		pairs = append(pairs, b.Placeholders[i], s)
	}
	prt := *rt
	// One pass over each statement: the rows' own text (user data) is
	// never searched for placeholders.
	prt.Inlined = strings.NewReplacer(pairs...)
	return openStep(ctx, &prt, b.Plan, params)
}

// inline replaces the placeholders of shipped tables in a target's
// statements by their rows.
func inline(t Target, r *strings.Replacer) Target {
	sql := make([]string, len(t.SQL))
	for i, s := range t.SQL {
		sql[i] = r.Replace(s)
	}
	t.SQL = sql
	return t
}
