package planner

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// deparse turns one statement back into SQL text.
func deparse(stmt *pg_query.Node) (string, error) {
	if isQuery(stmt) && subscriptsArrayConstructor(stmt) {
		stmt = clone(stmt)
		parenthesizeArraySubscripts(stmt)
	}
	sql, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: stmt}}})
	if err != nil {
		return "", fmt.Errorf("planner: deparse: %w", err)
	}
	return sql, nil
}

// The deparser prints a subscript of an array constructor,
// (ARRAY[a, b])[i], without the parentheses PostgreSQL needs. Such an
// array becomes a scalar subquery, (SELECT ARRAY[a, b])[i], which the
// deparser parenthesizes and which yields the same value.

// isQuery says whether stmt is a query or DML (where a subquery may stand;
// in DDL expressions it may not).
func isQuery(stmt *pg_query.Node) bool {
	switch stmt.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		return true
	}
	return false
}

func subscriptsArrayConstructor(stmt *pg_query.Node) bool {
	found := false
	WalkNodes(stmt, func(n *pg_query.Node) {
		if ind := n.GetAIndirection(); ind != nil && ind.Arg.GetAArrayExpr() != nil {
			found = true
		}
	})
	return found
}

func parenthesizeArraySubscripts(stmt *pg_query.Node) {
	WalkNodes(stmt, func(n *pg_query.Node) {
		ind := n.GetAIndirection()
		if ind == nil || ind.Arg.GetAArrayExpr() == nil {
			return
		}
		sub := &pg_query.SelectStmt{TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(ind.Arg, -1)}}
		ind.Arg = &pg_query.Node{Node: &pg_query.Node_SubLink{SubLink: &pg_query.SubLink{
			SubLinkType: pg_query.SubLinkType_EXPR_SUBLINK,
			Subselect:   &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sub}},
			Location:    -1,
		}}}
	})
}

// parseOne parses text holding exactly one statement.
func parseOne(sql string) (*pg_query.Node, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("planner: reparse %q: %w", sql, err)
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("planner: expected one statement in %q", sql)
	}
	return tree.Stmts[0].Stmt, nil
}

func clone[T proto.Message](m T) T {
	return proto.Clone(m).(T)
}

// exprEqual compares two expressions ignoring their text positions.
func exprEqual(a, b *pg_query.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	return proto.Equal(withoutLocations(a), withoutLocations(b))
}

func withoutLocations(n *pg_query.Node) *pg_query.Node {
	c := clone(n)
	walk(c, func(m proto.Message) bool {
		r := m.ProtoReflect()
		if fd := r.Descriptor().Fields().ByName("location"); fd != nil && fd.Kind() == protoreflect.Int32Kind {
			r.Clear(fd)
		}
		return true
	})
	return c
}

// funcName returns a function call's unqualified lower-case name, and
// false when it is qualified by a schema other than pg_catalog.
func funcName(fc *pg_query.FuncCall) (string, bool) {
	var parts []string
	for _, n := range fc.Funcname {
		parts = append(parts, n.GetString_().GetSval())
	}
	switch len(parts) {
	case 1:
		return strings.ToLower(parts[0]), true
	case 2:
		return strings.ToLower(parts[1]), parts[0] == "pg_catalog"
	}
	return "", false
}

// builtinAggregates are PostgreSQL's aggregate functions; any of them in a
// query makes it an aggregate query.
var builtinAggregates = map[string]bool{
	"count": true, "sum": true, "min": true, "max": true, "avg": true,
	"array_agg": true, "string_agg": true, "bool_and": true, "bool_or": true, "every": true,
	"bit_and": true, "bit_or": true, "bit_xor": true, "json_agg": true, "jsonb_agg": true,
	"json_object_agg": true, "jsonb_object_agg": true, "xmlagg": true,
	"stddev": true, "stddev_pop": true, "stddev_samp": true, "variance": true, "var_pop": true, "var_samp": true,
	"corr": true, "covar_pop": true, "covar_samp": true, "regr_avgx": true, "regr_avgy": true,
	"regr_count": true, "regr_intercept": true, "regr_r2": true, "regr_slope": true, "regr_sxx": true,
	"regr_sxy": true, "regr_syy": true, "mode": true, "percentile_cont": true, "percentile_disc": true,
	"rank": true, "dense_rank": true, "percent_rank": true, "cume_dist": true, "range_agg": true,
	"range_intersect_agg": true, "any_value": true,
}

// aggregateCall reports whether n is a call of an aggregate (not a window
// call).
func aggregateCall(n *pg_query.Node) (*pg_query.FuncCall, bool) {
	fc := n.GetFuncCall()
	if fc == nil || fc.Over != nil {
		return nil, false
	}
	name, ok := funcName(fc)
	if !ok || !builtinAggregates[name] {
		return nil, false
	}
	return fc, true
}

// containsAggregate reports whether an aggregate call appears in n, not
// looking into subqueries.
func containsAggregate(n proto.Message) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		if found {
			return false
		}
		switch x := m.(type) {
		case *pg_query.SubLink, *pg_query.RangeSubselect:
			return false
		case *pg_query.Node:
			if _, ok := aggregateCall(x); ok {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// containsWindow reports whether a window function call appears in n.
func containsWindow(n proto.Message) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		if fc, ok := m.(*pg_query.FuncCall); ok && fc.Over != nil {
			found = true
		}
		return !found
	})
	return found
}

// intConst returns the value of an integer constant node.
func intConst(n *pg_query.Node) (int64, bool) {
	c := n.GetAConst()
	if c == nil {
		return 0, false
	}
	if iv, ok := c.Val.(*pg_query.A_Const_Ival); ok {
		return int64(iv.Ival.Ival), true
	}
	return 0, false
}

// columnName is the single-name column a ColumnRef refers to ("" if it is
// qualified or a star).
func columnName(n *pg_query.Node) string {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) == 0 {
		return ""
	}
	return cr.Fields[len(cr.Fields)-1].GetString_().GetSval()
}
