package planner

import (
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Splits of bool_and/bool_or/every, bit_and/bit_or, the variance family
// and count(DISTINCT x) into partial aggregates and a combine step.

const (
	oidBool = 16
	oidInt2 = 21
	oidInt4 = 23
)

var varianceKinds = map[string]executor.AggKind{
	"stddev":      executor.AggStddevSamp,
	"stddev_samp": executor.AggStddevSamp,
	"stddev_pop":  executor.AggStddevPop,
	"variance":    executor.AggVarSamp,
	"var_samp":    executor.AggVarSamp,
	"var_pop":     executor.AggVarPop,
}

// splitBoolBits splits bool_and, every, bool_or, bit_and and bit_or: each
// node computes the aggregate itself, and AND or OR of the partials is the
// answer.
func splitBoolBits(fc *pg_query.FuncCall, name string, typ uint32) (executor.Agg, []*pg_query.Node, error) {
	self := &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: clone(fc)}}
	switch name {
	case "bool_and", "every":
		return executor.Agg{Kind: executor.AggBoolAnd, Type: oidBool}, []*pg_query.Node{self}, nil
	case "bool_or":
		return executor.Agg{Kind: executor.AggBoolOr, Type: oidBool}, []*pg_query.Node{self}, nil
	}
	switch typ {
	case oidInt2, oidInt4, oidInt8:
	default:
		// bit and bit varying values would need bit-string arithmetic.
		return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "%s of type %d over many shards is not supported yet", name, typ)
	}
	kind := executor.AggBitAnd
	if name == "bit_or" {
		kind = executor.AggBitOr
	}
	return executor.Agg{Kind: kind, Type: typ}, []*pg_query.Node{self}, nil
}

// splitVariance splits stddev, variance and their _samp and _pop forms
// into count(x), sum(x) and a third partial, with x cast to the type
// PostgreSQL computes in. Integer and numeric inputs give a numeric result
// computed exactly: the third partial is sum(x*x), and the coordinator
// finishes as numeric_stddev_internal does. Float inputs give a float8
// result: the third partial is var_pop(x), from which the coordinator
// recovers each node's sum of squared deviations and combines as
// float8_combine does.
func splitVariance(fc *pg_query.FuncCall, name string, typ uint32) (executor.Agg, []*pg_query.Node, error) {
	cast, err := partialCast(name, typ)
	if err != nil {
		return executor.Agg{}, nil, err
	}
	if len(fc.Args) != 1 {
		return executor.Agg{}, nil, pgerr.New(pgerr.SyntaxError, "%s takes one argument", name)
	}
	x := castTo(fc.Args[0], cast)
	var third *pg_query.Node
	if cast == "numeric" {
		square := pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, []*pg_query.Node{pg_query.MakeStrNode("*")}, clone(x), clone(x), -1)
		third = partialCall("sum", fc, square)
	} else {
		third = partialCall("var_pop", fc, clone(x))
	}
	return executor.Agg{Kind: varianceKinds[name], Type: typ}, []*pg_query.Node{
		partialCall("count", fc, clone(fc.Args[0])),
		partialCall("sum", fc, clone(x)),
		third,
	}, nil
}

// splitCountDistinct splits count(DISTINCT x): the nodes group by x as
// well (returned as groupBy) and send x with count(x) under the
// aggregate's FILTER; the coordinator counts the distinct values that some
// node counted. Grouping the other aggregates' partials more finely does
// not change what they combine to.
func splitCountDistinct(fc *pg_query.FuncCall) (ag executor.Agg, partials []*pg_query.Node, groupBy *pg_query.Node, err error) {
	name, _ := funcName(fc)
	if name != "count" || len(fc.Args) != 1 || len(fc.AggOrder) > 0 || fc.AggWithinGroup || fc.FuncVariadic {
		return ag, nil, nil, pgerr.Unsupported(hintGroupByDist, "%s(DISTINCT ...) over many shards is not supported yet", name)
	}
	x := fc.Args[0]
	if x.GetAConst() != nil {
		// A constant in the nodes' GROUP BY could read as a position.
		return ag, nil, nil, pgerr.Unsupported(hintGroupByDist, "count(DISTINCT constant) over many shards is not supported")
	}
	ag = executor.Agg{Kind: executor.AggCountDistinct, Type: oidInt8}
	return ag, []*pg_query.Node{clone(x), partialCall("count", fc, clone(x))}, x, nil
}

// typeDistinct learns the type of each count(DISTINCT x)'s x from the
// nodes' statement: the coordinator compares the values as text, which is
// right only for types whose equal values print alike (after
// executor.EqualAsText's normalization).
func typeDistinct(d *Description, aggs []executor.Agg) error {
	for i := range aggs {
		if aggs[i].Kind != executor.AggCountDistinct {
			continue
		}
		typ := d.Columns[aggs[i].Col].TypeOID
		if !executor.EqualAsText(typ) {
			return pgerr.Unsupported(hintGroupByDist, "count(DISTINCT) of type %d over many shards is not supported yet", typ)
		}
		aggs[i].ValueType = typ
	}
	return nil
}

// addGroupBy adds expr to the nodes' GROUP BY unless it is there.
func addGroupBy(w *pg_query.SelectStmt, expr *pg_query.Node) {
	for _, g := range w.GroupClause {
		if exprEqual(g, expr) {
			return
		}
	}
	w.GroupClause = append(w.GroupClause, clone(expr))
}

// partialCall is the aggregate name(arg) with fc's FILTER.
func partialCall(name string, fc *pg_query.FuncCall, arg *pg_query.Node) *pg_query.Node {
	call := &pg_query.FuncCall{Funcname: []*pg_query.Node{pg_query.MakeStrNode(name)}, Args: []*pg_query.Node{arg}, Location: -1}
	if fc.AggFilter != nil {
		call.AggFilter = clone(fc.AggFilter)
	}
	return &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: call}}
}

// castTo is expr::pg_catalog.typ.
func castTo(expr *pg_query.Node, typ string) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{
		Arg:      clone(expr),
		TypeName: &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(typ)}, Typemod: -1},
	}}}
}

// partialCast is the type the partials of avg or of the variance family
// sum their argument in: numeric for a numeric result (integer and numeric
// inputs), float8 for a float8 one.
func partialCast(name string, typ uint32) (string, error) {
	switch typ {
	case oidNumeric:
		return "numeric", nil
	case oidFloat8:
		return "float8", nil
	}
	return "", pgerr.Unsupported(hintGroupByDist, "%s of type %d over many shards is not supported yet", name, typ)
}
