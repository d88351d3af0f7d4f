package executor

import (
	"context"
	"fmt"
	"strings"

	"github.com/distgres/distgres/sqlquote"
)

// InlineTable is a table an Inline reads in full.
type InlineTable struct {
	// Sources yield the table's rows (every shard once), in column order.
	Sources []Target
	// Source, if set instead, computes the rows: a subquery planned on its
	// own (it gets the statement's parameters).
	Source Operator
	// Names and Types are the columns' quoted names and SQL types.
	Names, Types []string
	// UsesParams: the sources' conditions use the statement's parameters.
	UsesParams bool
	// Partition, when set, splits the rows by the shards of a Broadcast's
	// anchor.
	Partition *Partitioning
}

// Inline runs a statement that reads whole tables besides the one it
// works on (UPDATE ... FROM, DELETE ... USING, subqueries over other
// distributed tables): at execution it reads those tables in full and
// hands them, as SQL row sources in Tables order, to Build, which returns
// the statements to run. The rows travel in the statement text rather
// than in temporary tables, which a prepared (two-phase) transaction
// may not touch. The rows read are bounded by
// Runtime.MaxIntermediateBytes.
type Inline struct {
	Tables []InlineTable
	Build  func(sources []string) ([]Target, error)
	Cols   []Column
	// Replicated: the statements write a reference table on every
	// placement (see Gather).
	Replicated bool
}

var _ Operator = (*Inline)(nil)

func (in *Inline) Columns() []Column { return in.Cols }

func (in *Inline) Explain() Description {
	d := Description{Operator: "Inline"}
	holders := make([]string, len(in.Tables))
	for i := range holders {
		holders[i] = fmt.Sprintf("(rows of input %d)", i+1)
	}
	if targets, err := in.Build(holders); err == nil {
		g := (&Gather{Targets: targets}).Explain()
		g.Fragment = nil // placeholders, not SQL a node can plan
		d.Inputs = append(d.Inputs, g)
	}
	for _, t := range in.Tables {
		g := (&Gather{Targets: t.Sources}).Explain()
		g.Operator = "Read whole table"
		d.Inputs = append(d.Inputs, g)
	}
	return d
}

func (in *Inline) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	srt := *rt
	srt.ResultFormats = nil
	// All the tables' rows together are bounded, as one intermediate
	// result.
	acct := shipAccount{totalLimit: rt.MaxIntermediateBytes}
	sources := make([]string, len(in.Tables))
	for i, t := range in.Tables {
		s, err := shipRows(ctx, &srt, t, Params{}, &acct, false)
		if err != nil {
			return nil, err
		}
		sources[i] = s.texts[0]
	}
	targets, err := in.Build(sources)
	if err != nil {
		return nil, err
	}
	return (&Gather{Targets: targets, Cols: in.Cols, Replicated: in.Replicated}).Open(ctx, rt, params)
}

// params are the statement's parameters if the table's rows need them.
func (t InlineTable) params(p Params) Params {
	if t.UsesParams {
		return p
	}
	return Params{}
}

// open starts reading the table's rows, every column in format.
func (t InlineTable) open(ctx context.Context, rt *Runtime, params Params, format int16) (Rows, error) {
	if t.Source != nil {
		srt := *rt
		srt.ResultFormats = []int16{format}
		return openStep(ctx, &srt, t.Source, params)
	}
	if format == BinaryFormat {
		return (&Gather{Targets: t.Sources}).openBinary(ctx, rt, params)
	}
	return (&Gather{Targets: t.Sources, Text: true}).Open(ctx, rt, params)
}

// valuesText writes rows (text format) as a query of typed VALUES.
type valuesText struct {
	b strings.Builder
	n int
}

func (v *valuesText) add(row [][]byte, types []string) {
	b := &v.b
	if v.n == 0 {
		b.WriteString("(SELECT * FROM (VALUES ")
	} else {
		b.WriteString(", ")
	}
	v.n++
	b.WriteByte('(')
	for c, val := range row {
		if c > 0 {
			b.WriteString(", ")
		}
		if val == nil {
			b.WriteString("NULL")
		} else {
			b.WriteString(sqlquote.Literal(string(val)))
		}
		b.WriteString("::")
		b.WriteString(types[c])
	}
	b.WriteByte(')')
}

// size is the length of the text written so far.
func (v *valuesText) size() int64 { return int64(v.b.Len()) }

// query returns the parenthesized query: the VALUES with their column
// names, or an empty typed row set when no row was added.
func (v *valuesText) query(names, types []string) string {
	if v.n == 0 {
		cols := make([]string, len(names))
		for i := range cols {
			cols[i] = "NULL::" + types[i] + " AS " + names[i]
		}
		return "(SELECT " + strings.Join(cols, ", ") + " WHERE false)"
	}
	return v.b.String() + ") AS v(" + strings.Join(names, ", ") + "))"
}
