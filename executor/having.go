package executor

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
	"github.com/distgres/distgres/pgerr"
)

// Having is an Aggregate's HAVING condition over its output row (text
// values), in SQL's three-valued logic: only groups for which it is true
// are kept.
type Having interface {
	// eval returns the condition's value; known is false for NULL.
	eval(row, params [][]byte) (value, known bool)
	String() string
}

// HavingAnd, HavingOr and HavingNot combine conditions.
type (
	HavingAnd []Having
	HavingOr  []Having
	HavingNot struct{ Arg Having }
)

func (h HavingAnd) eval(row, params [][]byte) (bool, bool) {
	known := true
	for _, c := range h {
		v, k := c.eval(row, params)
		if k && !v {
			return false, true
		}
		known = known && k
	}
	return true, known
}

func (h HavingOr) eval(row, params [][]byte) (bool, bool) {
	known := true
	for _, c := range h {
		v, k := c.eval(row, params)
		if k && v {
			return true, true
		}
		known = known && k
	}
	return false, known
}

func (h HavingNot) eval(row, params [][]byte) (bool, bool) {
	v, k := h.Arg.eval(row, params)
	return !v, k
}

func (h HavingAnd) String() string { return joinHaving(" AND ", h) }
func (h HavingOr) String() string  { return joinHaving(" OR ", h) }
func (h HavingNot) String() string { return "NOT " + h.Arg.String() }

func joinHaving(op string, hs []Having) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for i, h := range hs {
		if i > 0 {
			b.WriteString(op)
		}
		b.WriteString(h.String())
	}
	b.WriteByte(')')
	return b.String()
}

// HavingOperand is an output column (Col >= 0), a parameter of the
// statement (Param, from 1), or a constant in text form (Const; nil for
// NULL).
type HavingOperand struct {
	Col   int
	Param int
	Const []byte
}

func (o HavingOperand) value(row, params [][]byte) []byte {
	switch {
	case o.Col >= 0:
		return row[o.Col]
	case o.Param > 0:
		return params[o.Param-1]
	}
	return o.Const
}

func (o HavingOperand) String() string {
	if o.Col >= 0 {
		return fmt.Sprintf("column %d", o.Col+1)
	}
	if o.Param > 0 {
		return fmt.Sprintf("$%d", o.Param)
	}
	if o.Const == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", o.Const)
}

// HavingCompare compares two operands of type Type with Op (=, <>, <, <=,
// >, >=).
type HavingCompare struct {
	Op          string
	Left, Right HavingOperand
	Type        uint32
}

func (h HavingCompare) eval(row, params [][]byte) (bool, bool) {
	a, b := h.Left.value(row, params), h.Right.value(row, params)
	if a == nil || b == nil {
		return false, false
	}
	c := compareHavingValues(h.Type, a, b)
	switch h.Op {
	case "=":
		return c == 0, true
	case "<>", "!=":
		return c != 0, true
	case "<":
		return c < 0, true
	case "<=":
		return c <= 0, true
	case ">":
		return c > 0, true
	case ">=":
		return c >= 0, true
	}
	return false, false
}

func (h HavingCompare) String() string {
	return fmt.Sprintf("%s %s %s", h.Left, h.Op, h.Right)
}

// HavingNullTest is operand IS [NOT] NULL.
type HavingNullTest struct {
	Arg HavingOperand
	Not bool
}

func (h HavingNullTest) eval(row, params [][]byte) (bool, bool) {
	return (h.Arg.value(row, params) == nil) != h.Not, true
}

func (h HavingNullTest) String() string {
	if h.Not {
		return h.Arg.String() + " IS NOT NULL"
	}
	return h.Arg.String() + " IS NULL"
}

// HavingComparable reports whether HAVING can compare values of a type on
// the coordinator as PostgreSQL does: integers and numeric by exact value,
// double precision as such, text in the C collation, booleans.
func HavingComparable(typeOID uint32) bool {
	switch typeOID {
	case oidInt2, oidInt4, oidInt8, oidNumeric, oidFloat8, oidText, oidVarchar, oidBool:
		return true
	}
	return false
}

// HavingConstant checks that a constant reads as a value of the type it
// is compared in, and returns its text as the column's would be compared:
// a constant PostgreSQL would reject must be left to it (false).
func HavingConstant(typeOID uint32, c []byte) ([]byte, bool) {
	switch typeOID {
	case oidText, oidVarchar:
		return c, true
	case oidBool:
		switch strings.ToLower(string(c)) {
		case "t", "true":
			return []byte("t"), true
		case "f", "false":
			return []byte("f"), true
		}
		return nil, false
	case oidFloat8:
		_, err := strconv.ParseFloat(string(c), 64)
		return c, err == nil
	}
	var d apd.Decimal
	_, _, err := d.SetString(string(c))
	return c, err == nil && d.Form == apd.Finite
}

// compareHavingValues orders two text values of a HavingComparable type
// with the merge's comparisons, except that integer columns compare by
// value as numeric: the constant they meet may have a fraction.
func compareHavingValues(typeOID uint32, a, b []byte) int {
	switch typeOID {
	case oidInt2, oidInt4, oidInt8:
		return cmpNumeric(a, b)
	}
	return compareText(typeOID, a, b)
}

// havingParams returns the statement's parameters in text form for a
// HAVING condition, each checked as PostgreSQL would read it in the type
// it is compared in (the nodes never see these values).
func havingParams(rt *Runtime, params Params, h Having) ([][]byte, error) {
	out := make([][]byte, len(params.Values))
	for i, v := range params.Values {
		if v == nil || params.Format(i) == TextFormat || rt.Types == nil {
			out[i] = v
			continue
		}
		oid := params.OIDs[i]
		t, ok := rt.Types.TypeForOID(oid)
		if !ok {
			return nil, fmt.Errorf("executor: HAVING parameter $%d of unknown type %d", i+1, oid)
		}
		val, err := t.Codec.DecodeValue(rt.Types, oid, BinaryFormat, v)
		if err != nil {
			return nil, pgerr.New("22P03", "incorrect binary data format in bind parameter %d", i+1)
		}
		if out[i], err = rt.Types.Encode(oid, TextFormat, val, nil); err != nil {
			return nil, fmt.Errorf("executor: HAVING parameter $%d: %w", i+1, err)
		}
	}
	var err error
	walkHaving(h, func(c HavingCompare) {
		for _, o := range []HavingOperand{c.Left, c.Right} {
			if err != nil || o.Param == 0 || out[o.Param-1] == nil {
				continue
			}
			v, ok := HavingConstant(c.Type, out[o.Param-1])
			if !ok {
				err = pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type %s: %q", typeName(c.Type), out[o.Param-1])
				continue
			}
			out[o.Param-1] = v
		}
	})
	return out, err
}

// walkHaving calls fn for every comparison of a condition.
func walkHaving(h Having, fn func(HavingCompare)) {
	switch x := h.(type) {
	case HavingAnd:
		for _, c := range x {
			walkHaving(c, fn)
		}
	case HavingOr:
		for _, c := range x {
			walkHaving(c, fn)
		}
	case HavingNot:
		walkHaving(x.Arg, fn)
	case HavingCompare:
		fn(x)
	}
}

func typeName(oid uint32) string {
	switch oid {
	case oidInt2:
		return "smallint"
	case oidInt4:
		return "integer"
	case oidInt8:
		return "bigint"
	case oidNumeric:
		return "numeric"
	case oidFloat8:
		return "double precision"
	case oidBool:
		return "boolean"
	}
	return "text"
}
