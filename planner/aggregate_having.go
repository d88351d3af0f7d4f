package planner

import (
	"context"
	"strconv"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// havingPlan is a HAVING clause made ready for the combine step: the
// select list extended with the aggregates and group keys the condition
// reads that the statement does not output (combined like the others and
// projected away), and the condition over the output columns.
type havingPlan struct {
	sel  *pg_query.SelectStmt // the statement with the extended select list
	desc *Description         // its description
	cond executor.Having
}

// planHaving prepares sel's HAVING, if any, for the coordinator to apply
// after combining the groups. The condition must be comparisons (=, <>,
// <, <=, >, >=) and IS [NOT] NULL tests of aggregates and group keys with
// constants or each other, under AND, OR and NOT, over types the
// coordinator compares as PostgreSQL does; anything else is refused
// (0A000), and the statement is pulled.
func planHaving(ctx context.Context, env *Env, sel *pg_query.SelectStmt, desc *Description) (*havingPlan, error) {
	if sel.HavingClause == nil {
		return &havingPlan{sel: sel, desc: desc}, nil
	}
	ext := clone(sel)
	ext.HavingClause = nil
	b := &havingBuilder{ext: ext, visible: len(sel.TargetList)}
	build, err := b.condition(sel.HavingClause)
	if err != nil {
		return nil, err
	}
	extDesc := desc
	if len(ext.TargetList) > len(sel.TargetList) {
		sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: ext}})
		if err != nil {
			return nil, err
		}
		if extDesc, err = env.Shell.Describe(ctx, sql, desc.ParamOIDs); err != nil {
			return nil, err
		}
	}
	cond, err := build(extDesc)
	if err != nil {
		return nil, err
	}
	return &havingPlan{sel: ext, desc: extDesc, cond: cond}, nil
}

// havingBuilder reads a HAVING condition; the columns' types are known
// only once the extended select list is described, so it returns a
// function that builds the condition then.
type havingBuilder struct {
	ext     *pg_query.SelectStmt
	visible int
}

type havingBuild func(d *Description) (executor.Having, error)

func unsupportedHaving(what string) error {
	return pgerr.Unsupported(hintGroupByDist, "HAVING with %s over many shards is not supported yet", what)
}

func (b *havingBuilder) condition(n *pg_query.Node) (havingBuild, error) {
	switch {
	case n.GetBoolExpr() != nil:
		be := n.GetBoolExpr()
		var args []havingBuild
		for _, a := range be.Args {
			f, err := b.condition(a)
			if err != nil {
				return nil, err
			}
			args = append(args, f)
		}
		return func(d *Description) (executor.Having, error) {
			var hs []executor.Having
			for _, f := range args {
				h, err := f(d)
				if err != nil {
					return nil, err
				}
				hs = append(hs, h)
			}
			switch be.Boolop {
			case pg_query.BoolExprType_AND_EXPR:
				return executor.HavingAnd(hs), nil
			case pg_query.BoolExprType_OR_EXPR:
				return executor.HavingOr(hs), nil
			}
			return executor.HavingNot{Arg: hs[0]}, nil
		}, nil
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		arg, err := b.operand(nt.Arg)
		if err != nil {
			return nil, err
		}
		not := nt.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL
		return func(d *Description) (executor.Having, error) {
			return executor.HavingNullTest{Arg: arg.operand, Not: not}, nil
		}, nil
	case n.GetAExpr() != nil:
		return b.comparison(n.GetAExpr())
	}
	return nil, unsupportedHaving("this condition")
}

var havingOperators = map[string]bool{"=": true, "<>": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (b *havingBuilder) comparison(e *pg_query.A_Expr) (havingBuild, error) {
	if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(e.Name) != 1 || !havingOperators[e.Name[0].GetString_().GetSval()] {
		return nil, unsupportedHaving("this operator")
	}
	op := e.Name[0].GetString_().GetSval()
	left, err := b.operand(e.Lexpr)
	if err != nil {
		return nil, err
	}
	right, err := b.operand(e.Rexpr)
	if err != nil {
		return nil, err
	}
	return func(d *Description) (executor.Having, error) {
		// The comparison happens in the column's type; two columns must
		// have the same type, a constant reads as the column's.
		typ := uint32(0)
		for _, o := range []havingOperand{left, right} {
			if o.operand.Col < 0 {
				continue // a constant or a parameter: read in the column's type
			}
			t := d.Columns[o.operand.Col].TypeOID
			if typ != 0 && t != typ || !executor.HavingComparable(t) {
				return nil, unsupportedHaving("values of these types")
			}
			typ = t
		}
		if typ == 0 {
			return nil, unsupportedHaving("constants only")
		}
		l, r := left.operand, right.operand
		for _, o := range []*executor.HavingOperand{&l, &r} {
			if o.Col < 0 && o.Const != nil {
				v, ok := executor.HavingConstant(typ, o.Const)
				if !ok {
					return nil, unsupportedHaving("this constant")
				}
				o.Const = v
			}
		}
		return executor.HavingCompare{Op: op, Left: l, Right: r, Type: typ}, nil
	}, nil
}

// havingOperand is a column of the extended select list or a constant.
type havingOperand struct {
	operand executor.HavingOperand
}

func (b *havingBuilder) operand(n *pg_query.Node) (havingOperand, error) {
	if tc := n.GetTypeCast(); tc != nil && tc.Arg.GetAConst() != nil {
		n = tc.Arg // the constant is read in the type it is compared in
	}
	if c := n.GetAConst(); c != nil {
		v, ok := constText(c)
		if !ok {
			return havingOperand{}, unsupportedHaving("this constant")
		}
		return havingOperand{executor.HavingOperand{Col: -1, Const: v}}, nil
	}
	if p := n.GetParamRef(); p != nil {
		return havingOperand{executor.HavingOperand{Col: -1, Param: int(p.Number)}}, nil
	}
	if n.GetFuncCall() == nil && n.GetColumnRef() == nil {
		return havingOperand{}, unsupportedHaving("an expression")
	}
	for i, t := range b.ext.TargetList {
		if exprEqual(t.GetResTarget().GetVal(), n) {
			return havingOperand{executor.HavingOperand{Col: i}}, nil
		}
	}
	// Not in the output: a hidden column (an aggregate, or a group key
	// the combine carries; anything else fails when the list is planned).
	b.ext.TargetList = append(b.ext.TargetList, pg_query.MakeResTargetNodeWithVal(clone(n), -1))
	return havingOperand{executor.HavingOperand{Col: len(b.ext.TargetList) - 1}}, nil
}

// constText is a constant's text (nil for NULL), as the coordinator
// compares it with a column's text.
func constText(c *pg_query.A_Const) ([]byte, bool) {
	switch {
	case c.Isnull:
		return nil, true
	case c.GetIval() != nil:
		return []byte(strconv.FormatInt(int64(c.GetIval().Ival), 10)), true
	case c.GetFval() != nil:
		return []byte(c.GetFval().Fval), true
	case c.GetSval() != nil:
		return []byte(c.GetSval().Sval), true
	case c.GetBoolval() != nil:
		if c.GetBoolval().Boolval {
			return []byte("t"), true
		}
		return []byte("f"), true
	}
	return nil, false
}
