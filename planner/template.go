package planner

import (
	"fmt"
	"github.com/distgres/distgres/sqlquote"
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// template is a statement's text with the table references cut out, so
// that the text for a shard is produced by concatenation instead of a
// deparse on every execution.
type template struct {
	parts []string // len(slots)+1 pieces of text
	slots []slot
}

type slot struct {
	rv *pg_query.RangeVar
	// hasAlias: the reference is followed by its own alias in the text.
	hasAlias bool
}

// span is a byte range of the text.
type span struct{ start, end int }

// newTemplate cuts the names of the given table references out of sql.
func newTemplate(sql string, refs []*pg_query.RangeVar) (*template, error) {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return nil, fmt.Errorf("planner: scan: %w", err)
	}
	type cut struct {
		span
		rv *pg_query.RangeVar
	}
	var cuts []cut
	for _, rv := range refs {
		sp, ok := nameSpan(sql, scan.Tokens, int(rv.Location))
		if !ok {
			return nil, fmt.Errorf("planner: cannot find table reference %q at %d", rv.Relname, rv.Location)
		}
		if !rv.Inh {
			// FROM ONLY t: shards have no children, and ONLY cannot stand
			// before a subquery, so the keyword goes with the name.
			sp.start = onlyStart(scan.Tokens, sp.start)
		}
		cuts = append(cuts, cut{sp, rv})
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].start < cuts[j].start })
	t := &template{}
	pos := 0
	for _, c := range cuts {
		if c.start < pos {
			return nil, fmt.Errorf("planner: overlapping table references")
		}
		t.parts = append(t.parts, sql[pos:c.start])
		t.slots = append(t.slots, slot{rv: c.rv, hasAlias: c.rv.Alias != nil})
		pos = c.end
	}
	t.parts = append(t.parts, sql[pos:])
	return t, nil
}

// nameSpan finds the (possibly qualified) name starting at loc.
func nameSpan(sql string, toks []*pg_query.ScanToken, loc int) (span, bool) {
	i := sort.Search(len(toks), func(i int) bool { return int(toks[i].Start) >= loc })
	if i == len(toks) || int(toks[i].Start) != loc {
		return span{}, false
	}
	end := int(toks[i].End)
	for i+2 < len(toks) && sql[toks[i+1].Start:toks[i+1].End] == "." && int(toks[i+1].Start) == end {
		i += 2
		end = int(toks[i].End)
	}
	return span{loc, end}, true
}

// render produces the text with each slot replaced by name(slot). Slots
// without their own alias get the original relation name as alias so that
// qualified column references keep working.
func (t *template) render(name func(rv *pg_query.RangeVar) (text string, aliasable bool)) string {
	var b strings.Builder
	for i, s := range t.slots {
		b.WriteString(t.parts[i])
		text, aliasable := name(s.rv)
		b.WriteString(text)
		if aliasable && !s.hasAlias {
			b.WriteString(" AS ")
			b.WriteString(sqlquote.Ident(s.rv.Relname))
		}
	}
	b.WriteString(t.parts[len(t.parts)-1])
	return b.String()
}

// onlyStart returns the start of an ONLY keyword right before the name at
// start (start itself if there is none).
func onlyStart(toks []*pg_query.ScanToken, start int) int {
	i := sort.Search(len(toks), func(i int) bool { return int(toks[i].Start) >= start })
	if i > 0 && toks[i-1].Token == pg_query.Token_ONLY {
		return int(toks[i-1].Start)
	}
	return start
}
