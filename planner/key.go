package planner

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// key is a value of a distribution column fixed by the statement: a
// constant (in text form) or a parameter.
type key struct {
	param   int // 1-based; 0 for a constant
	text    string
	isNull  bool
	valType uint32 // the parameter's type
}

// findKey looks for "distcol = value" among the top-level AND conjuncts of
// where.
func findKey(where *pg_query.Node, t *catalog.Table, rv *pg_query.RangeVar, paramOIDs []uint32) (key, bool) {
	if where == nil || t.DistColumn == "" {
		return key{}, false
	}
	switch n := where.Node.(type) {
	case *pg_query.Node_BoolExpr:
		if n.BoolExpr.Boolop != pg_query.BoolExprType_AND_EXPR {
			return key{}, false
		}
		for _, a := range n.BoolExpr.Args {
			if k, ok := findKey(a, t, rv, paramOIDs); ok {
				return k, true
			}
		}
	case *pg_query.Node_AExpr:
		e := n.AExpr
		if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || len(e.Name) != 1 || e.Name[0].GetString_().GetSval() != "=" {
			return key{}, false
		}
		if isDistColumn(e.Lexpr, t, rv) {
			return constKey(e.Rexpr, t, paramOIDs)
		}
		if isDistColumn(e.Rexpr, t, rv) {
			return constKey(e.Lexpr, t, paramOIDs)
		}
	}
	return key{}, false
}

// isDistColumn says whether n is a reference to the distribution column.
func isDistColumn(n *pg_query.Node, t *catalog.Table, rv *pg_query.RangeVar) bool {
	cr := n.GetColumnRef()
	if cr == nil {
		return false
	}
	var parts []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return false
		}
		parts = append(parts, s.Sval)
	}
	switch len(parts) {
	case 1:
		return parts[0] == t.DistColumn
	case 2:
		name := rv.Relname
		if rv.Alias != nil {
			name = rv.Alias.Aliasname
		}
		return parts[0] == name && parts[1] == t.DistColumn
	}
	return false
}

// constKey turns a constant or parameter into a key, if the shard of a row
// equal to it can be computed.
func constKey(n *pg_query.Node, t *catalog.Table, paramOIDs []uint32) (key, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	if p := n.GetParamRef(); p != nil {
		i := int(p.Number)
		if i < 1 || i > len(paramOIDs) || !compatibleKeyType(paramOIDs[i-1], t.DistType) {
			return key{}, false
		}
		return key{param: i, valType: paramOIDs[i-1]}, true
	}
	c := n.GetAConst()
	if c == nil {
		return key{}, false
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		if !isIntType(t.DistType) {
			return key{}, false
		}
		return key{text: strconv.FormatInt(int64(v.Ival.Ival), 10)}, true
	case *pg_query.A_Const_Fval:
		if !isIntType(t.DistType) {
			return key{}, false
		}
		if _, err := strconv.ParseInt(v.Fval.Fval, 10, 64); err != nil {
			return key{}, false
		}
		return key{text: v.Fval.Fval}, true
	case *pg_query.A_Const_Sval:
		if _, err := catalog.HashDatum(t.DistType, v.Sval.Sval); err != nil {
			return key{}, false
		}
		return key{text: v.Sval.Sval}, true
	}
	if c.Isnull {
		return key{isNull: true}, true
	}
	return key{}, false
}

func isIntType(oid uint32) bool { return oid == 20 || oid == 21 || oid == 23 }

func isTextType(oid uint32) bool { return oid == 25 || oid == 1043 }

// compatibleKeyType: a value of type v hashes like the column's type d.
func compatibleKeyType(v, d uint32) bool {
	return v == d || (isIntType(v) && isIntType(d)) || (isTextType(v) && isTextType(d))
}

// shardIndex computes which shard holds rows whose distribution column
// equals the value.
func shardIndex(t *catalog.Table, typ uint32, v []byte, format int16) (int, error) {
	switch t.Method {
	case catalog.MethodHash:
		var h int32
		var err error
		if format == executor.BinaryFormat {
			h, err = catalog.HashBinaryDatum(typ, v)
		} else {
			h, err = catalog.HashDatum(typ, string(v))
		}
		if err != nil {
			return 0, pgerr.New(pgerr.InvalidTextRep, "invalid value for distribution column %q: %v", t.DistColumn, err)
		}
		return t.ShardIndexForHash(h), nil
	case catalog.MethodModulo:
		n, err := intValue(typ, v, format)
		if err != nil {
			return 0, err
		}
		return t.ShardIndexForModulo(n), nil
	}
	return 0, fmt.Errorf("planner: table %s.%s has no distribution key", t.Schema, t.Name)
}

func intValue(typ uint32, v []byte, format int16) (int64, error) {
	if format != executor.BinaryFormat {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type bigint: %q", v)
		}
		return n, nil
	}
	switch len(v) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(v))), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(v))), nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid binary integer of %d bytes", len(v))
}

// keyShard resolves a constant key at plan time.
func keyShard(t *catalog.Table, k key) (int, error) {
	if k.isNull {
		return 0, nil
	}
	return shardIndex(t, t.DistType, []byte(k.text), executor.TextFormat)
}

// paramChooser picks a shard from a parameter at execution time.
type paramChooser struct {
	param int
	typ   uint32
	table *catalog.Table
}

var _ executor.ShardChooser = (*paramChooser)(nil)

func (c *paramChooser) Choose(p executor.Params) (int, error) {
	i := c.param - 1
	if i >= len(p.Values) {
		return 0, pgerr.New(pgerr.UndefinedParameter, "there is no parameter $%d", c.param)
	}
	if p.Values[i] == nil {
		return 0, nil // "col = NULL" matches nothing on any shard
	}
	return shardIndex(c.table, c.typ, p.Values[i], p.Format(i))
}

func (c *paramChooser) String() string {
	return fmt.Sprintf("$%d", c.param)
}
