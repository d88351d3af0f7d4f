package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Writes through views. PostgreSQL's automatically updatable views (one
// table or updatable view in FROM, no aggregation, DISTINCT, set
// operation, LIMIT...) turn an INSERT, UPDATE or DELETE on the view into
// one on the view's base relation. The views live in the shell databases
// only, so distgres does the same rewrite before planning: view columns
// become the base relation's columns (or the view's expressions, where
// they are read), the view's WHERE clause is added to UPDATE and DELETE,
// and RETURNING keeps the view's column names. A view on a view takes one
// rewrite per level.

// writeThroughView rewrites st, a write whose target is the view v, onto
// the view's base relation. returning holds the names of the statement's
// result columns as PostgreSQL describes them (the RETURNING list).
func writeThroughView(ctx context.Context, env *Env, st *Statement, v *viewDef, returning []string) (*Statement, error) {
	arity := -1
	if ins := st.Node.GetInsertStmt(); ins != nil && len(ins.Cols) == 0 && ins.SelectStmt != nil {
		var ok bool
		if arity, ok = insertArity(ins.SelectStmt.GetSelectStmt()); !ok {
			src := clone(ins.SelectStmt)
			if sel := src.GetSelectStmt(); sel != nil && sel.WithClause == nil {
				sel.WithClause = ins.WithClause
			}
			sql, err := deparse(src)
			if err != nil {
				return nil, err
			}
			d, err := env.Shell.Describe(ctx, sql, st.ParamOIDs)
			if err != nil {
				return nil, err
			}
			arity = len(d.Columns)
		}
	}
	n, err := rewriteViewWrite(st.Node, v, returning, arity)
	if err != nil {
		return nil, err
	}
	sql, err := deparse(n)
	if err != nil {
		return nil, err
	}
	node, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	return &Statement{SQL: sql, Node: node, ParamOIDs: st.ParamOIDs, Distribute: st.Distribute}, nil
}

// insertArity is the number of values a row of an INSERT's source has,
// when the source's text says (false when a star hides it).
func insertArity(sel *pg_query.SelectStmt) (int, bool) {
	for sel != nil && sel.Op != pg_query.SetOperation_SETOP_NONE {
		sel = sel.Larg
	}
	if sel == nil {
		return 0, false
	}
	if len(sel.ValuesLists) > 0 {
		return len(sel.ValuesLists[0].GetList().GetItems()), true
	}
	for _, t := range sel.TargetList {
		if cr := t.GetResTarget().GetVal().GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			return 0, false
		}
	}
	return len(sel.TargetList), true
}

// rewriteViewWrite returns the statement n, whose target is the view v,
// rewritten onto the view's base relation. returning names the result
// columns (nil: none); arity is the number of values per row of an INSERT
// without a column list (-1: count them in the statement).
func rewriteViewWrite(n *pg_query.Node, v *viewDef, returning []string, arity int) (*pg_query.Node, error) {
	n = clone(n)
	target := writeTarget(n)
	if err := checkViewWritable(n, v); err != nil {
		return nil, err
	}
	sel, base, err := viewBase(v)
	if err != nil {
		return nil, err
	}
	w := &viewWrite{view: v, q: target.Relname, target: target, cols: map[string]int{}}
	if target.Alias != nil {
		w.q = target.Alias.Aliasname
	}
	for i, c := range v.cols {
		w.cols[c] = i
	}
	if len(sel.TargetList) != len(v.cols) {
		return nil, pgerr.New(pgerr.InternalError, "view %q has %d columns but its query %d", v.name, len(v.cols), len(sel.TargetList))
	}
	var where *pg_query.Node
	if n.GetInsertStmt() == nil {
		where = sel.WhereClause
	}
	parts := w.parts(n)
	w.others = len(n.GetUpdateStmt().GetFromClause()) > 0 || len(n.GetDeleteStmt().GetUsingClause()) > 0
	w.alias = target.Alias != nil || w.others || w.qualifiedRefs(parts)
	baseRef := base.Relname
	if base.Alias != nil {
		baseRef = base.Alias.Aliasname
	}
	for _, e := range append([]*pg_query.Node{where}, targetValues(sel)...) {
		if e != nil && hasSublinkOrStar(e) {
			w.alias = true
		}
	}
	if w.alias {
		if names := innerNames(sel); names[w.q] {
			return nil, pgerr.Unsupported("Give the view another alias in the statement.", "the name %q is used inside view %q", w.q, v.name)
		}
	}
	for _, e := range targetValues(sel) {
		e = clone(e)
		w.requalify(e, baseRef)
		w.exprs = append(w.exprs, e)
	}
	if where != nil {
		where = clone(where)
		w.requalify(where, baseRef)
	}
	rel := &pg_query.RangeVar{Schemaname: base.Schemaname, Relname: base.Relname, Inh: base.Inh && target.Inh, Relpersistence: base.Relpersistence, Location: target.Location}
	if w.alias {
		rel.Alias = &pg_query.Alias{Aliasname: w.q}
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_DeleteStmt:
		d := x.DeleteStmt
		d.Relation = rel
		if d.WhereClause, err = w.where(where, d.WhereClause); err != nil {
			return nil, err
		}
		d.ReturningList, err = w.returningList(d.ReturningList, returning)
	case *pg_query.Node_UpdateStmt:
		u := x.UpdateStmt
		u.Relation = rel
		if err = w.setList(u.TargetList, false); err != nil {
			return nil, err
		}
		if u.WhereClause, err = w.where(where, u.WhereClause); err != nil {
			return nil, err
		}
		u.ReturningList, err = w.returningList(u.ReturningList, returning)
	case *pg_query.Node_InsertStmt:
		ins := x.InsertStmt
		ins.Relation = rel
		if err = w.insertColumns(ins, arity); err != nil {
			return nil, err
		}
		if err = w.onConflict(ins.OnConflictClause); err != nil {
			return nil, err
		}
		ins.ReturningList, err = w.returningList(ins.ReturningList, returning)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// checkViewWritable refuses the views whose writes distgres cannot turn
// into writes of their base relation.
func checkViewWritable(n *pg_query.Node, v *viewDef) error {
	switch {
	case v.checkOption != "":
		return pgerr.Unsupported("Write to the view's table, checking the view's condition in the statement, or recreate the view without WITH CHECK OPTION.",
			"writing through view %q WITH %s CHECK OPTION is not supported", v.name, strings.ToUpper(v.checkOption))
	case v.securityBarrier:
		return pgerr.Unsupported("Write to the view's table instead.", "writing through security_barrier view %q is not supported", v.name)
	case v.triggers > 0:
		return pgerr.Unsupported("Write to the view's table instead.", "writing through view %q, which has triggers, is not supported", v.name)
	case v.rules > 0:
		return pgerr.Unsupported("Write to the view's table instead.", "writing through view %q, which has rules, is not supported", v.name)
	case v.defaults > 0 && n.GetDeleteStmt() == nil:
		return pgerr.Unsupported("Write to the view's table instead, or drop the view's column defaults.", "writing through view %q, which has column defaults, is not supported", v.name)
	}
	return nil
}

// viewBase parses the view's query and checks that it is automatically
// updatable; it returns the query and its one FROM item.
func viewBase(v *viewDef) (*pg_query.SelectStmt, *pg_query.RangeVar, error) {
	node, err := parseOne(v.def)
	if err != nil {
		return nil, nil, err
	}
	sel := node.GetSelectStmt()
	notUpdatable := func(detail string) error {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "cannot write through view %q", v.name).WithDetail("%s", detail)
	}
	switch {
	case sel == nil || sel.Op != pg_query.SetOperation_SETOP_NONE:
		return nil, nil, notUpdatable("Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable.")
	case len(sel.ValuesLists) > 0 || len(sel.FromClause) != 1 || sel.FromClause[0].GetRangeVar() == nil:
		return nil, nil, notUpdatable("Views that do not select from a single table or view are not automatically updatable.")
	case sel.WithClause != nil:
		return nil, nil, notUpdatable("Views containing WITH are not automatically updatable.")
	case len(sel.DistinctClause) > 0:
		return nil, nil, notUpdatable("Views containing DISTINCT are not automatically updatable.")
	case len(sel.GroupClause) > 0 || sel.HavingClause != nil:
		return nil, nil, notUpdatable("Views containing GROUP BY are not automatically updatable.")
	case sel.LimitCount != nil || sel.LimitOffset != nil:
		return nil, nil, notUpdatable("Views containing LIMIT or OFFSET are not automatically updatable.")
	case len(sel.WindowClause) > 0:
		return nil, nil, notUpdatable("Views that return window functions are not automatically updatable.")
	case len(sel.LockingClause) > 0:
		return nil, nil, notUpdatable("Views containing FOR UPDATE or FOR SHARE are not automatically updatable.")
	}
	for _, e := range targetValues(sel) {
		if containsAggregate(e) {
			return nil, nil, notUpdatable("Views that return aggregate functions are not automatically updatable.")
		}
		if containsWindow(e) {
			return nil, nil, notUpdatable("Views that return window functions are not automatically updatable.")
		}
		if containsSRF(e) {
			return nil, nil, notUpdatable("Views that return set-returning functions are not automatically updatable.")
		}
	}
	return sel, sel.FromClause[0].GetRangeVar(), nil
}

// setReturning are set-returning functions of pg_catalog that a view's
// select list may call.
var setReturning = map[string]bool{
	"generate_series": true, "unnest": true, "generate_subscripts": true, "regexp_matches": true,
	"regexp_split_to_table": true, "json_each": true, "jsonb_each": true, "json_each_text": true,
	"jsonb_each_text": true, "json_array_elements": true, "jsonb_array_elements": true,
	"json_array_elements_text": true, "jsonb_array_elements_text": true, "json_object_keys": true,
	"jsonb_object_keys": true, "jsonb_path_query": true, "string_to_table": true,
}

// containsSRF reports whether a known set-returning function is called in
// n outside subqueries (PostgreSQL itself refuses the others when it
// describes the statement).
func containsSRF(n proto.Message) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg_query.SubLink:
			return false
		case *pg_query.FuncCall:
			if name, ok := funcName(x); ok && setReturning[name] {
				found = true
			}
		}
		return !found
	})
	return found
}

func targetValues(sel *pg_query.SelectStmt) []*pg_query.Node {
	var out []*pg_query.Node
	for _, t := range sel.TargetList {
		out = append(out, t.GetResTarget().GetVal())
	}
	return out
}

// viewWrite holds what one rewrite of a write through a view knows.
type viewWrite struct {
	view   *viewDef
	target *pg_query.RangeVar
	// q is the name the statement knows the view by: its alias, else the
	// view's name.
	q string
	// alias: the base relation takes q as its alias, and references to its
	// columns are qualified with it. Without other FROM items, qualified
	// references or subqueries, the rewritten statement names no alias.
	alias bool
	// others: the statement has FROM items beside its target.
	others bool
	cols   map[string]int // view column name -> position
	// exprs are the view's columns in terms of the base relation.
	exprs []*pg_query.Node
}

// parts are the clauses of the statement in which the view's columns are
// visible.
func (w *viewWrite) parts(n *pg_query.Node) []proto.Message {
	var out []proto.Message
	add := func(ns ...*pg_query.Node) {
		for _, x := range ns {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_DeleteStmt:
		add(x.DeleteStmt.WhereClause)
		add(x.DeleteStmt.ReturningList...)
	case *pg_query.Node_UpdateStmt:
		add(x.UpdateStmt.TargetList...)
		add(x.UpdateStmt.WhereClause)
		add(x.UpdateStmt.ReturningList...)
	case *pg_query.Node_InsertStmt:
		add(x.InsertStmt.ReturningList...)
		if oc := x.InsertStmt.OnConflictClause; oc != nil {
			out = append(out, oc)
		}
	}
	return out
}

// qualifiedRefs says whether a column reference in parts is qualified
// with the view's name.
func (w *viewWrite) qualifiedRefs(parts []proto.Message) bool {
	found := false
	for _, p := range parts {
		walk(p, func(m proto.Message) bool {
			if cr, ok := m.(*pg_query.ColumnRef); ok {
				f := fieldNames(cr)
				if len(f) >= 2 && f[0] == w.q || len(f) == 3 && f[1] == w.target.Relname {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

// fieldNames are a column reference's names, "*" for a star.
func fieldNames(cr *pg_query.ColumnRef) []string {
	out := make([]string, len(cr.Fields))
	for i, f := range cr.Fields {
		if f.GetAStar() != nil {
			out[i] = "*"
		} else {
			out[i] = f.GetString_().GetSval()
		}
	}
	return out
}

func hasSublinkOrStar(n *pg_query.Node) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg_query.SubLink:
			found = true
		case *pg_query.ColumnRef:
			if x.Fields[len(x.Fields)-1].GetAStar() != nil {
				found = true
			}
		}
		return !found
	})
	return found
}

// innerNames are the names of the FROM items and CTEs of the view's
// subqueries.
func innerNames(sel *pg_query.SelectStmt) map[string]bool {
	names := map[string]bool{}
	var parts []proto.Message
	if sel.WhereClause != nil {
		parts = append(parts, sel.WhereClause)
	}
	for _, e := range targetValues(sel) {
		parts = append(parts, e)
	}
	for _, p := range parts {
		walk(p, func(m proto.Message) bool {
			switch x := m.(type) {
			case *pg_query.RangeVar:
				names[x.Relname] = true
				if x.Alias != nil {
					names[x.Alias.Aliasname] = true
				}
			case *pg_query.Alias:
				names[x.Aliasname] = true
			case *pg_query.CommonTableExpr:
				names[x.Ctename] = true
			}
			return true
		})
	}
	return names
}

// requalify makes references to the base relation in an expression of the
// view's query refer to the rewritten target: qualified with q when the
// target has that alias, unqualified otherwise (only done where no
// subquery can see another relation).
func (w *viewWrite) requalify(n *pg_query.Node, baseRef string) {
	var visit func(m protoreflect.Message, sub bool)
	visit = func(m protoreflect.Message, sub bool) {
		if !m.IsValid() {
			return
		}
		switch x := m.Interface().(type) {
		case *pg_query.ColumnRef:
			f := fieldNames(x)
			switch {
			case len(f) == 2 && f[0] == baseRef:
				if w.alias {
					x.Fields[0] = pg_query.MakeStrNode(w.q)
				} else {
					x.Fields = x.Fields[1:]
				}
			case len(f) == 1 && !sub && w.alias:
				x.Fields = append([]*pg_query.Node{pg_query.MakeStrNode(w.q)}, x.Fields...)
			}
			return
		case *pg_query.SelectStmt:
			sub = true
		}
		rangeMessages(m, func(c protoreflect.Message) { visit(c, sub) })
	}
	visit(n.ProtoReflect(), false)
}

// rangeMessages calls fn for every message directly below m.
func rangeMessages(m protoreflect.Message, fn func(protoreflect.Message)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				fn(l.Get(i).Message())
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind:
			fn(v.Message())
		}
		return true
	})
}

// column returns view column name's expression in terms of the base
// relation.
func (w *viewWrite) column(name string) (*pg_query.Node, bool) {
	i, ok := w.cols[name]
	if !ok {
		return nil, false
	}
	return clone(w.exprs[i]), true
}

// baseColumn is the base relation's column under view column name, or an
// error when the view column is not a column of the base relation.
func (w *viewWrite) baseColumn(name string) (string, error) {
	e, ok := w.column(name)
	if !ok {
		return "", pgerr.New(pgerr.UndefinedColumn, "column %q of relation %q does not exist", name, w.view.name)
	}
	if cr := e.GetColumnRef(); cr != nil {
		if f := fieldNames(cr); f[len(f)-1] != "*" {
			return f[len(f)-1], nil
		}
	}
	return "", pgerr.New(pgerr.FeatureNotSupported, "cannot write column %q of view %q", name, w.view.name).
		WithDetail("View columns that are not columns of their base relation are not updatable.")
}

// identity says whether view column name is the base relation's column of
// the same name.
func (w *viewWrite) identity(name string) bool {
	c, err := w.baseColumn(name)
	return err == nil && c == name
}

// rename rewrites the references to the view's columns in n, an
// expression of the statement, into the base relation's. In ON CONFLICT
// clauses, excluded is the row proposed for insertion: its columns are
// renamed too.
func (w *viewWrite) rename(n proto.Message, excluded bool) error {
	var visit func(m protoreflect.Message, sub, shadowed bool) error
	visit = func(m protoreflect.Message, sub, shadowed bool) error {
		if !m.IsValid() {
			return nil
		}
		switch x := m.Interface().(type) {
		case *pg_query.Node:
			if cr := x.GetColumnRef(); cr != nil {
				return w.renameRef(x, cr, sub, shadowed, excluded)
			}
		case *pg_query.SelectStmt:
			// Column names resolve in the subquery's FROM items first;
			// without any they resolve as outside.
			sub = sub || len(x.FromClause) > 0
			shadowed = shadowed || fromNames(x)[w.q]
		}
		var err error
		rangeMessages(m, func(c protoreflect.Message) {
			if err == nil {
				err = visit(c, sub, shadowed)
			}
		})
		return err
	}
	return visit(n.ProtoReflect(), false, false)
}

// fromNames are the names a query's FROM clause makes visible.
func fromNames(sel *pg_query.SelectStmt) map[string]bool {
	names := map[string]bool{}
	var add func(n *pg_query.Node)
	add = func(n *pg_query.Node) {
		switch x := n.Node.(type) {
		case *pg_query.Node_RangeVar:
			if x.RangeVar.Alias != nil {
				names[x.RangeVar.Alias.Aliasname] = true
			} else {
				names[x.RangeVar.Relname] = true
			}
		case *pg_query.Node_RangeSubselect:
			if x.RangeSubselect.Alias != nil {
				names[x.RangeSubselect.Alias.Aliasname] = true
			}
		case *pg_query.Node_RangeFunction:
			if x.RangeFunction.Alias != nil {
				names[x.RangeFunction.Alias.Aliasname] = true
			}
		case *pg_query.Node_JoinExpr:
			if x.JoinExpr.Alias != nil {
				names[x.JoinExpr.Alias.Aliasname] = true
			}
			add(x.JoinExpr.Larg)
			add(x.JoinExpr.Rarg)
		}
	}
	for _, n := range sel.FromClause {
		add(n)
	}
	if sel.WithClause != nil {
		for _, c := range sel.WithClause.Ctes {
			names[c.GetCommonTableExpr().GetCtename()] = true
		}
	}
	return names
}

// renameRef rewrites one column reference of the statement.
func (w *viewWrite) renameRef(n *pg_query.Node, cr *pg_query.ColumnRef, sub, shadowed, excluded bool) error {
	f := fieldNames(cr)
	if len(f) == 3 && !shadowed && w.target.Alias == nil && f[1] == w.target.Relname && (w.target.Schemaname == "" || f[0] == w.target.Schemaname) {
		f = f[1:]
	}
	switch {
	case len(f) == 1 && f[0] != "*":
		if _, ok := w.cols[f[0]]; !ok {
			if f[0] == w.q {
				return w.wholeRow()
			}
			return nil // a column of another relation
		}
		if sub && !w.identity(f[0]) {
			return pgerr.Unsupported("Qualify the column with the view's name: "+w.q+"."+f[0]+".",
				"an unqualified reference to column %q of view %q in a subquery is not supported in a write through the view", f[0], w.view.name)
		}
		if sub {
			return nil
		}
		e, _ := w.column(f[0])
		n.Node = e.Node
	case len(f) == 2 && f[0] == w.q && !shadowed:
		if f[1] == "*" {
			return w.wholeRow()
		}
		e, ok := w.column(f[1])
		if !ok {
			return pgerr.New(pgerr.UndefinedColumn, "column %s.%s does not exist", w.q, f[1])
		}
		n.Node = e.Node
	case len(f) == 2 && excluded && f[0] == "excluded":
		if f[1] == "*" {
			return pgerr.Unsupported("List the columns of excluded.", "excluded.* is not supported in a write through a view")
		}
		c, err := w.baseColumn(f[1])
		if err != nil {
			return err
		}
		cr.Fields[1] = pg_query.MakeStrNode(c)
	case len(f) >= 3 && f[0] == w.q && !shadowed:
		return pgerr.Unsupported("Select the field with parentheses: ("+w.q+"."+f[1]+")."+f[2]+".", "column reference %q is not supported in a write through a view", joinNames(f))
	}
	return nil
}

func joinNames(f []string) string {
	s := f[0]
	for _, x := range f[1:] {
		s += "." + x
	}
	return s
}

func (w *viewWrite) wholeRow() error {
	return pgerr.Unsupported("List the view's columns instead.", "whole-row references to view %q are not supported in a write through it", w.view.name)
}

// where is the WHERE clause of a rewritten UPDATE or DELETE: the view's
// condition and the statement's own.
func (w *viewWrite) where(view, own *pg_query.Node) (*pg_query.Node, error) {
	if own != nil {
		if own.GetCurrentOfExpr() != nil {
			return nil, pgerr.Unsupported("Write with a WHERE clause instead.", "WHERE CURRENT OF is not supported in a write through a view")
		}
		if err := w.rename(own, false); err != nil {
			return nil, err
		}
	}
	switch {
	case view == nil:
		return own, nil
	case own == nil:
		return view, nil
	}
	return pg_query.MakeBoolExprNode(pg_query.BoolExprType_AND_EXPR, append(conjuncts(view), conjuncts(own)...), -1), nil
}

// setList renames the columns assigned by UPDATE's SET (or ON CONFLICT DO
// UPDATE SET) and the references in their values.
func (w *viewWrite) setList(list []*pg_query.Node, excluded bool) error {
	for _, t := range list {
		rt := t.GetResTarget()
		c, err := w.baseColumn(rt.Name)
		if err != nil {
			return err
		}
		rt.Name = c
		if err := w.rename(rt.Val, excluded); err != nil {
			return err
		}
		if err := w.rename(&pg_query.List{Items: rt.Indirection}, excluded); err != nil {
			return err
		}
	}
	return nil
}

// insertColumns renames an INSERT's column list; an INSERT without one
// writes the view's first arity columns.
func (w *viewWrite) insertColumns(ins *pg_query.InsertStmt, arity int) error {
	if len(ins.Cols) == 0 && ins.SelectStmt != nil {
		if arity < 0 {
			var ok bool
			if arity, ok = insertArity(ins.SelectStmt.GetSelectStmt()); !ok {
				return pgerr.New(pgerr.InternalError, "cannot count the columns of the INSERT's source")
			}
		}
		if arity > len(w.view.cols) {
			return pgerr.New(pgerr.SyntaxError, "INSERT has more expressions than target columns")
		}
		for _, c := range w.view.cols[:arity] {
			ins.Cols = append(ins.Cols, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Name: c, Location: -1}}})
		}
	}
	for _, t := range ins.Cols {
		rt := t.GetResTarget()
		c, err := w.baseColumn(rt.Name)
		if err != nil {
			return err
		}
		rt.Name = c
	}
	return nil
}

// onConflict renames the columns of an ON CONFLICT clause.
func (w *viewWrite) onConflict(oc *pg_query.OnConflictClause) error {
	if oc == nil {
		return nil
	}
	if in := oc.Infer; in != nil {
		for _, e := range in.IndexElems {
			ie := e.GetIndexElem()
			if ie == nil {
				continue
			}
			if ie.Name != "" {
				c, err := w.baseColumn(ie.Name)
				if err != nil {
					return err
				}
				ie.Name = c
			}
			if ie.Expr != nil {
				if err := w.rename(ie.Expr, false); err != nil {
					return err
				}
			}
		}
		if in.WhereClause != nil {
			if err := w.rename(in.WhereClause, false); err != nil {
				return err
			}
		}
	}
	if err := w.setList(oc.TargetList, true); err != nil {
		return err
	}
	if oc.WhereClause != nil {
		return w.rename(oc.WhereClause, true)
	}
	return nil
}

// returningList renames RETURNING: a star becomes the view's columns, and
// an item whose name the renaming would change keeps the name PostgreSQL
// gives it on the view (names).
func (w *viewWrite) returningList(list []*pg_query.Node, names []string) ([]*pg_query.Node, error) {
	var out []*pg_query.Node
	for _, t := range list {
		rt := t.GetResTarget()
		if cr := rt.GetVal().GetColumnRef(); cr != nil && rt.Name == "" && len(rt.Indirection) == 0 {
			if f := fieldNames(cr); f[len(f)-1] == "*" && (len(f) == 1 || len(f) == 2 && f[0] == w.q) {
				if len(f) == 1 && w.others {
					return nil, pgerr.Unsupported("List the columns to return.", "RETURNING * with other FROM items is not supported in a write through a view")
				}
				for i, c := range w.view.cols {
					e := clone(w.exprs[i])
					name := c
					if ecr := e.GetColumnRef(); ecr != nil && fieldNames(ecr)[len(ecr.Fields)-1] == c {
						name = ""
					}
					out = append(out, &pg_query.Node{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Name: name, Val: e, Location: -1}}})
				}
				continue
			}
		}
		before := withoutLocations(rt.Val)
		if err := w.rename(rt.Val, false); err != nil {
			return nil, err
		}
		if rt.Name == "" && !proto.Equal(before, withoutLocations(rt.Val)) {
			i := len(out)
			if i >= len(names) {
				return nil, pgerr.New(pgerr.InternalError, "RETURNING has more items than its description")
			}
			if names[i] != "?column?" && figureName(rt.Val) != names[i] {
				rt.Name = names[i]
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// figureName is the name PostgreSQL gives a result column computed by n,
// for the simplest expressions ("" when it is not sure).
func figureName(n *pg_query.Node) string {
	switch x := n.Node.(type) {
	case *pg_query.Node_ColumnRef:
		if f := fieldNames(x.ColumnRef); f[len(f)-1] != "*" {
			return f[len(f)-1]
		}
	case *pg_query.Node_FuncCall:
		if len(x.FuncCall.Funcname) > 0 {
			return x.FuncCall.Funcname[len(x.FuncCall.Funcname)-1].GetString_().GetSval()
		}
	case *pg_query.Node_TypeCast:
		return figureName(x.TypeCast.Arg)
	}
	return ""
}
