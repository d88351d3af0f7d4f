package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

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
// CTE names.
func rangeVars(stmt proto.Message) []*pg_query.RangeVar {
	ctes := map[string]bool{}
	walk(stmt, func(m proto.Message) bool {
		if c, ok := m.(*pg_query.CommonTableExpr); ok {
			ctes[c.Ctename] = true
		}
		return true
	})
	var out []*pg_query.RangeVar
	walk(stmt, func(m proto.Message) bool {
		if rv, ok := m.(*pg_query.RangeVar); ok {
			if rv.Schemaname == "" && ctes[rv.Relname] {
				return true
			}
			out = append(out, rv)
		}
		return true
	})
	return out
}
