package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/distgres/distgres/catalog"
)

// Broadcast runs a statement over the shards of one distributed table, the
// anchor, with the other distributed tables it reads shipped to the nodes:
// at execution it reads those tables (only the rows and columns the
// statement needs) and puts their rows, as typed VALUES, into the nodes'
// statements in place of Placeholders; then it runs Plan, whose statements
// name the shipped tables by their placeholders. A table joined on the
// anchor's distribution column is repartitioned: each shard of the anchor
// gets only the rows that can join its own (one placeholder per shard);
// other tables go whole to every node (one placeholder). Past
// Runtime.MaxBroadcastBytes of shipped rows in one node's statements their
// text would grow too large for the node to parse well: it runs Fallback
// (the statement pulled to one node) instead.
type Broadcast struct {
	Tables []InlineTable
	// Placeholders[i] holds one placeholder for a table shipped whole,
	// one per shard of the anchor for a repartitioned one.
	Placeholders [][]string
	Plan         Operator
	Fallback     Operator
	// Database is the nodes' shard database, where Plan runs.
	Database string
	// Nodes run Plan's statements: past copyShippedAbove bytes per node,
	// outside transaction blocks, the shipped rows go to temporary tables
	// there (see openCopied). Nil: never.
	Nodes []catalog.Node
}

// copyShippedAbove is the size of shipped rows per node past which binary
// COPY into temporary tables beats statement text: a node parses typed
// VALUES at roughly 20-40 MB/s, while COPY loads several times faster.
const copyShippedAbove = 256 << 10

// Partitioning splits a shipped table's rows by the anchor's shards.
type Partitioning struct {
	// Column is the index of the column whose value picks the shard.
	Column int
	// ShardOf returns the index of the anchor's shard a value (in text or
	// binary format) belongs to. A value it cannot place (error) goes to
	// every shard: it cannot join any row there, only where it belongs.
	ShardOf func(v []byte, format int16) (int, error)
	// Nodes[i] is the node running the fragments of shard i.
	Nodes []catalog.Node
	// Whole: every row must reach the statement once (the table may be
	// the preserved side of an outer join): a NULL or a value the
	// coordinator cannot place goes to the first shard, where the other
	// table's copies of such values meet it.
	Whole bool
}

var _ Operator = (*Broadcast)(nil)

func (b *Broadcast) Columns() []Column { return b.Plan.Columns() }

func (b *Broadcast) Explain() Description {
	plan := Describe(b.Plan)
	clearFragments(&plan) // placeholders, not SQL a node can plan
	d := Description{Operator: "Broadcast", Inputs: []Description{plan}}
	for i, t := range b.Tables {
		if t.Source != nil {
			d.Inputs = append(d.Inputs, Description{Operator: fmt.Sprintf("Ship to every node as %s the rows of", b.Placeholders[i][0]), Inputs: []Description{Describe(t.Source)}})
			continue
		}
		g := (&Gather{Targets: t.Sources}).Explain()
		g.Operator = fmt.Sprintf("Ship to every node as %s", b.Placeholders[i][0])
		if t.Partition != nil {
			g.Operator = fmt.Sprintf("Repartition by column %s to the anchor's shards as %s, ...", t.Names[t.Partition.Column], b.Placeholders[i][0])
		}
		g.Fragment = nil
		d.Inputs = append(d.Inputs, g)
	}
	pull := Describe(b.Fallback)
	pull.Operator = "Instead, past distgres.max_broadcast_size: " + pull.Operator
	if len(b.Nodes) > 0 {
		d.Detail = append(d.Detail, fmt.Sprintf("Past %d kB per node: shipped through temporary tables on the nodes (outside transaction blocks)", copyShippedAbove>>10))
	}
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
	copyOK := !rt.InBlock && len(b.Nodes) > 0
	textLimit := rt.MaxBroadcastBytes
	if copyOK && (textLimit == 0 || textLimit > copyShippedAbove) {
		textLimit = copyShippedAbove
	}
	acct := shipAccount{perNode: map[catalog.NodeID]int64{}, nodeLimit: textLimit, totalLimit: rt.MaxIntermediateBytes}
	var pairs []string
	// While the rows may yet go to temporary tables, they are kept: a
	// subquery's rows are not computed twice.
	var kept [][][][]byte
	for i, t := range b.Tables {
		s, err := shipRows(ctx, &srt, t, t.params(params), &acct, copyOK)
		if errors.Is(err, errTooLarge) {
			if copyOK {
				return b.openCopied(ctx, rt, params, append(kept, s.kept), s.rest)
			}
			return openStep(ctx, rt, b.Fallback, params)
		}
		if err != nil {
			return nil, err
		}
		kept = append(kept, s.kept)
		for j, text := range s.texts {
			pairs = append(pairs, b.Placeholders[i][j], text)
		}
	}
	prt := *rt
	// One pass over each statement: the rows' own text (user data) is
	// never searched for placeholders.
	prt.Inlined = strings.NewReplacer(pairs...)
	return openStep(ctx, &prt, b.Plan, params)
}

// shipAccount bounds the rows a Broadcast ships: past nodeLimit bytes in
// one node's statements (errTooLarge: pull instead), past totalLimit in
// all (the intermediate result limit's error). A limit of 0 is no limit.
type shipAccount struct {
	everyNode  int64 // tables shipped whole
	perNode    map[catalog.NodeID]int64
	maxNode    int64 // the largest perNode
	total      int64
	nodeLimit  int64
	totalLimit int64
}

// add counts n bytes going to node (to every node when whole).
func (a *shipAccount) add(n int64, node catalog.NodeID, whole bool) error {
	a.total += n
	if whole {
		a.everyNode += n
	} else {
		a.perNode[node] += n
		a.maxNode = max(a.maxNode, a.perNode[node])
	}
	if a.totalLimit > 0 && a.total > a.totalLimit {
		return tooLarge(a.totalLimit)
	}
	if a.nodeLimit > 0 && a.everyNode+a.maxNode > a.nodeLimit {
		return errTooLarge
	}
	return nil
}

// shipped is what shipRows read of a table: its rows as VALUES queries
// (one, or one per shard of the anchor when it is repartitioned), the rows
// themselves when asked to keep them, and, when it stopped at a bound
// while keeping, the rows not read yet.
type shipped struct {
	texts []string
	kept  [][][]byte
	rest  Rows
}

// shipRows reads a shipped table's rows (text) as VALUES queries.
func shipRows(ctx context.Context, rt *Runtime, t InlineTable, params Params, acct *shipAccount, keep bool) (shipped, error) {
	var s shipped
	rows, err := t.open(ctx, rt, params, TextFormat)
	if err != nil {
		return s, err
	}
	parts := make([]valuesText, 1)
	part := t.Partition
	if part != nil {
		parts = make([]valuesText, len(part.Nodes))
	}
	for rows.Next() {
		row := rows.Values()
		if keep {
			s.kept = append(s.kept, copyRow(row))
		}
		for _, i := range part.shardsOf(row, TextFormat) {
			before := parts[i].size()
			parts[i].add(row, t.Types)
			if part == nil {
				err = acct.add(parts[i].size()-before, 0, true)
			} else {
				err = acct.add(parts[i].size()-before, part.Nodes[i].ID, false)
			}
			if err != nil {
				break
			}
		}
		if errors.Is(err, errTooLarge) && keep {
			s.rest = rows
			return s, err
		}
		if err != nil {
			rows.Close()
			return s, err
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return s, err
	}
	if _, err := rows.Close(); err != nil {
		return s, err
	}
	for i := range parts {
		s.texts = append(s.texts, parts[i].query(t.Names, t.Types))
	}
	return s, nil
}

// shardsOf returns where a shipped row goes: the one place of a table
// shipped whole (p nil); the shard its value belongs to; every shard for
// a value the coordinator cannot place (it can only join where it
// belongs); none for NULL, which joins nothing.
func (p *Partitioning) shardsOf(row [][]byte, format int16) []int {
	if p == nil {
		return []int{0}
	}
	v := row[p.Column]
	if v == nil {
		if p.Whole {
			return []int{0}
		}
		return nil
	}
	if i, err := p.ShardOf(v, format); err == nil && i >= 0 && i < len(p.Nodes) {
		return []int{i}
	}
	if p.Whole {
		return []int{0}
	}
	all := make([]int, len(p.Nodes))
	for i := range all {
		all[i] = i
	}
	return all
}

// copyRow copies a row's values out of a stream's buffers.
func copyRow(row [][]byte) [][]byte {
	out := make([][]byte, len(row))
	for i, v := range row {
		if v != nil {
			out[i] = append([]byte{}, v...)
		}
	}
	return out
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
