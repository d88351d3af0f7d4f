package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// sessionSequences remembers the values a session drew, for currval and
// lastval.
type sessionSequences struct {
	last    map[[2]string]int64
	lastval int64
	any     bool
}

func (q *sessionSequences) drew(schema, name string, v int64) {
	if q.last == nil {
		q.last = map[[2]string]int64{}
	}
	q.last[[2]string{schema, name}] = v
	q.lastval, q.any = v, true
}

// needsSequences reports whether a statement calls sequence functions or
// inserts into a table with columns filled from global sequences.
func (ss *session) needsSequences(st *parsedStatement) bool {
	snap := ss.srv.cfg.Catalog.Snapshot()
	if !snap.HasSequences() {
		return false
	}
	if ins := st.node.GetInsertStmt(); ins != nil {
		schema, table := relationName(ins.Relation)
		if len(snap.ColumnSequences(schema, table)) > 0 {
			return true
		}
	}
	for _, w := range []string{"nextval", "currval", "setval", "lastval"} {
		if containsFold(st.sql, w) {
			return true
		}
	}
	return false
}

func relationName(rv *pg_query.RangeVar) (string, string) {
	if rv == nil {
		return "", ""
	}
	if rv.Schemaname != "" {
		return rv.Schemaname, rv.Relname
	}
	return "public", rv.Relname
}

// rewriteSequences fills in an INSERT's sequence columns and replaces
// calls of sequence functions on global sequences with their values, in
// place.
func (ss *session) rewriteSequences(ctx context.Context, node *pg_query.Node) (bool, error) {
	changed := false
	if ins := node.GetInsertStmt(); ins != nil {
		c, err := ss.fillSequenceColumns(ctx, ins)
		if err != nil {
			return false, err
		}
		changed = c
	}
	c, err := ss.replaceSequenceCalls(ctx, node)
	return changed || c, err
}

// bigintConst is v as a bigint constant.
func bigintConst(v int64) *pg_query.Node {
	var val *pg_query.Node
	if v >= -1<<31 && v < 1<<31 {
		val = pg_query.MakeAConstIntNode(v, -1)
	} else {
		val = &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{Val: &pg_query.A_Const_Fval{Fval: &pg_query.Float{Fval: strconv.FormatInt(v, 10)}}}}}
	}
	return &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{Arg: val,
		TypeName: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode("int8")}, Typemod: -1}}}}
}

// fillSequenceColumns gives each row of an INSERT ... VALUES (or DEFAULT
// VALUES) the next values of the table's sequence columns it leaves out or
// sets to DEFAULT.
func (ss *session) fillSequenceColumns(ctx context.Context, ins *pg_query.InsertStmt) (bool, error) {
	schema, table := relationName(ins.Relation)
	seqs := ss.srv.cfg.Catalog.Snapshot().ColumnSequences(schema, table)
	if len(seqs) == 0 {
		return false, nil
	}
	if ins.SelectStmt == nil { // DEFAULT VALUES
		ins.SelectStmt = &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
			ValuesLists: []*pg_query.Node{{Node: &pg_query.Node_List{List: &pg_query.List{}}}}}}}
		ins.Cols = nil
		return ss.fillRows(ctx, ins, seqs, true)
	}
	return ss.fillRows(ctx, ins, seqs, false)
}

func (ss *session) fillRows(ctx context.Context, ins *pg_query.InsertStmt, seqs []catalog.Sequence, defaultValues bool) (bool, error) {
	sel := ins.SelectStmt.GetSelectStmt()
	cols, err := ss.insertColumns(ctx, ins, defaultValues)
	if err != nil {
		return false, err
	}
	if sel == nil || len(sel.ValuesLists) == 0 {
		for _, q := range seqs {
			if !containsString(cols, q.OwnerColumn) {
				return false, pgerr.Unsupported(fmt.Sprintf("List column %q and give its values, or insert with VALUES.", q.OwnerColumn),
					"INSERT ... SELECT into %s, whose column %q takes its values from a global sequence, is not supported yet", ins.Relation.Relname, q.OwnerColumn)
			}
		}
		return false, nil
	}
	changed := false
	for _, q := range seqs {
		idx := indexOf(cols, q.OwnerColumn)
		missing := idx < 0
		if missing {
			ins.Cols = append(ins.Cols, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Name: q.OwnerColumn}}})
			cols = append(cols, q.OwnerColumn)
		}
		rows := sel.ValuesLists
		count := 0
		for _, r := range rows {
			items := r.GetList().GetItems()
			switch {
			case missing:
				count++
			case idx < len(items) && items[idx].GetSetToDefault() != nil:
				count++
			case idx < len(items) && q.Always && ins.Override != pg_query.OverridingKind_OVERRIDING_SYSTEM_VALUE:
				// Checked before any value is filled in, which sets
				// OVERRIDING SYSTEM VALUE.
				return false, (&pgerr.Error{Code: "428C9", Message: fmt.Sprintf("cannot insert a non-DEFAULT value into column %q", q.OwnerColumn),
					Detail: fmt.Sprintf("Column %q is an identity column defined as GENERATED ALWAYS.", q.OwnerColumn)}).WithHint("Use OVERRIDING SYSTEM VALUE to override.")
			}
		}
		if count == 0 {
			continue
		}
		vals, err := ss.nextValues(ctx, q.Schema, q.Name, count)
		if err != nil {
			return false, err
		}
		if q.Always {
			// The values are the system's own.
			ins.Override = pg_query.OverridingKind_OVERRIDING_SYSTEM_VALUE
		}
		k := 0
		for _, r := range rows {
			l := r.GetList()
			switch {
			case missing:
				l.Items = append(l.Items, bigintConst(vals[k]))
				k++
			case idx < len(l.Items) && l.Items[idx].GetSetToDefault() != nil:
				l.Items[idx] = bigintConst(vals[k])
				k++
			}
		}
		changed = true
	}
	return changed, nil
}

// insertColumns returns the columns an INSERT lists, or all the table's
// columns in order when it lists none (asked of the shell).
func (ss *session) insertColumns(ctx context.Context, ins *pg_query.InsertStmt, defaultValues bool) ([]string, error) {
	if len(ins.Cols) > 0 || defaultValues {
		var cols []string
		for _, c := range ins.Cols {
			cols = append(cols, c.GetResTarget().GetName())
		}
		return cols, nil
	}
	schema, table := relationName(ins.Relation)
	cols, err := planner.TableColumns(ctx, shell{ss}, schema, table)
	if err != nil {
		return nil, err
	}
	// Name every column the rows give, so that an appended one lines up.
	sel := ins.SelectStmt.GetSelectStmt()
	width := 0
	for _, r := range sel.GetValuesLists() {
		width = max(width, len(r.GetList().GetItems()))
	}
	if sel != nil && len(sel.ValuesLists) > 0 {
		if width > len(cols) {
			width = len(cols)
		}
		for _, c := range cols[:width] {
			ins.Cols = append(ins.Cols, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Name: c}}})
		}
		return cols[:width], nil
	}
	return cols, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func containsString(list []string, s string) bool { return indexOf(list, s) >= 0 }

// nextValues draws n values of a global sequence and remembers the last.
func (ss *session) nextValues(ctx context.Context, schema, name string, n int) ([]int64, error) {
	g := ss.srv.cfg.GTM
	if g == nil {
		return nil, pgerr.Unsupported("", "global sequences need the transaction manager")
	}
	vals, err := g.NextValues(ctx, schema, name, n)
	if err != nil {
		return nil, sequenceError(err)
	}
	ss.seqs.drew(schema, name, vals[len(vals)-1])
	return vals, nil
}

func sequenceError(err error) error {
	switch {
	case errors.Is(err, catalog.ErrSequenceExhausted):
		return &pgerr.Error{Code: "2200H", Message: strings.TrimPrefix(err.Error(), "apply allocate_sequence: "), Err: err}
	case errors.Is(err, catalog.ErrNoSuchSequence):
		return &pgerr.Error{Code: pgerr.UndefinedTable, Message: err.Error(), Err: err}
	}
	return catalogError(err)
}
