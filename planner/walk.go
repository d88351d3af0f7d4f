package planner

import (
	"cmp"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"slices"
)

// WalkNodes calls fn for every *pg_query.Node in the tree below m (m
// included), parents first; fn may replace a node's content, and the walk
// goes on into the replacement.
func WalkNodes(m proto.Message, fn func(*pg_query.Node)) {
	walk(m, func(x proto.Message) bool {
		if n, ok := x.(*pg_query.Node); ok {
			fn(n)
		}
		return true
	})
}

// walk calls fn for every message in the tree below m (m included), depth
// first. fn returns false to skip a message's children.
func walk(m proto.Message, fn func(proto.Message) bool) {
	if m == nil {
		return
	}
	walkReflect(m.ProtoReflect(), fn)
}

func walkReflect(m protoreflect.Message, fn func(proto.Message) bool) {
	if !m.IsValid() {
		return
	}
	if !fn(m.Interface()) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkReflect(l.Get(i).Message(), fn)
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind:
			walkReflect(v.Message(), fn)
		}
		return true
	})
}

// rangeVars returns every RangeVar in the statement, except references to
// common table expressions visible where they stand.
func rangeVars(stmt proto.Message) []*pg_query.RangeVar {
	var out []*pg_query.RangeVar
	collectRangeVars(stmt.ProtoReflect(), nil, &out)
	// protoreflect's Range visits fields in no fixed order; the text order
	// makes plans (which table is the first distributed one, the order of
	// pulled tables) the same on every run.
	slices.SortStableFunc(out, func(a, b *pg_query.RangeVar) int { return cmp.Compare(a.Location, b.Location) })
	return out
}

// collectRangeVars walks the tree keeping the CTE names in scope: a WITH
// clause's names are visible in its statement (and, for WITH RECURSIVE, in
// its own queries).
func collectRangeVars(m protoreflect.Message, ctes map[string]bool, out *[]*pg_query.RangeVar) {
	if !m.IsValid() {
		return
	}
	switch x := m.Interface().(type) {
	case *pg_query.RangeVar:
		if x.Schemaname == "" && ctes[x.Relname] {
			return
		}
		*out = append(*out, x)
		return
	case *pg_query.SelectStmt:
		ctes = withScope(ctes, x.WithClause)
	case *pg_query.InsertStmt:
		ctes = withScope(ctes, x.WithClause)
	case *pg_query.UpdateStmt:
		ctes = withScope(ctes, x.WithClause)
	case *pg_query.DeleteStmt:
		ctes = withScope(ctes, x.WithClause)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				collectRangeVars(l.Get(i).Message(), ctes, out)
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind:
			collectRangeVars(v.Message(), ctes, out)
		}
		return true
	})
}

func withScope(ctes map[string]bool, w *pg_query.WithClause) map[string]bool {
	if w == nil || len(w.Ctes) == 0 {
		return ctes
	}
	next := make(map[string]bool, len(ctes)+len(w.Ctes))
	for k := range ctes {
		next[k] = true
	}
	for _, c := range w.Ctes {
		next[c.GetCommonTableExpr().GetCtename()] = true
	}
	return next
}
