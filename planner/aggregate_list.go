package planner

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Splits of string_agg, array_agg, json_agg and jsonb_agg, which list
// their inputs: each node lists its own rows of a group and the
// coordinator merges the lists (executor.ListAgg).
//
// Without ORDER BY in the call, a node's own json_agg, jsonb_agg or
// string_agg (with a constant text delimiter) is its list, and the
// coordinator concatenates them. Otherwise each node sends, per group,
// arrays in the call's order: array_agg of the values (as text or bytea
// for string_agg, as to_json or to_jsonb gives them for json_agg and
// jsonb_agg), of string_agg's delimiters unless they are one text
// constant, and of each ORDER BY key that is not the value itself; the
// coordinator merges the nodes' lists by the keys. array_agg without
// ORDER BY is the same with no keys.

var listKinds = map[string]executor.AggKind{
	"string_agg": executor.AggStringAgg,
	"array_agg":  executor.AggArrayAgg,
	"json_agg":   executor.AggJSONAgg,
	"jsonb_agg":  executor.AggJSONBAgg,
}

// Type OIDs the split of list aggregates cares about.
const (
	oidText     = 25
	oidBytea    = 17
	oidName     = 19
	oidVarchar  = 1043
	oidBPChar   = 1042
	oidJSON     = 114
	oidJSONB    = 3802
	oidBoxArray = 1020
	// firstNormalOID is where the OIDs of types created after initdb
	// start (FirstNormalObjectId).
	firstNormalOID = 16384
)

// typer learns from the shell database the types of expressions over a
// query's FROM clause.
type typer struct {
	ctx    context.Context
	env    *Env
	sel    *pg_query.SelectStmt
	params []uint32
}

// types describes SELECT exprs FROM (the query's FROM clause).
func (t *typer) types(exprs []*pg_query.Node) ([]uint32, error) {
	probe := &pg_query.SelectStmt{FromClause: t.sel.FromClause, WithClause: t.sel.WithClause}
	for _, e := range exprs {
		probe.TargetList = append(probe.TargetList, pg_query.MakeResTargetNodeWithVal(clone(e), -1))
	}
	sql, err := deparse(&pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: probe}})
	if err != nil {
		return nil, err
	}
	d, err := t.env.Shell.Describe(t.ctx, sql, t.params)
	if err != nil {
		return nil, fmt.Errorf("planner: typing aggregate arguments: %w", err)
	}
	if len(d.Columns) != len(exprs) {
		return nil, fmt.Errorf("planner: typing aggregate arguments: %d columns for %d expressions", len(d.Columns), len(exprs))
	}
	out := make([]uint32, len(exprs))
	for i, c := range d.Columns {
		out[i] = c.TypeOID
	}
	return out, nil
}

// query runs a catalog query on the shell database; a missing answer is
// not supported.
func (t *typer) query(sql string) (string, error) {
	v, ok, err := t.env.Shell.QueryValue(t.ctx, sql)
	switch {
	case err != nil:
		return "", fmt.Errorf("planner: looking up a type: %w", err)
	case !ok:
		return "", pgerr.Unsupported(hintGroupByDist, "the aggregate's argument type is not known over many shards")
	}
	return v, nil
}

// splitList splits string_agg, array_agg, json_agg or jsonb_agg (not
// DISTINCT) with final type typ.
func splitList(t *typer, fc *pg_query.FuncCall, name string, typ uint32) (executor.Agg, []*pg_query.Node, error) {
	nargs := 1
	if name == "string_agg" {
		nargs = 2
	}
	if fc.AggWithinGroup || fc.FuncVariadic || fc.AggStar || len(fc.Args) != nargs {
		return executor.Agg{}, nil, pgerr.Unsupported(hintGroupByDist, "this form of %s over many shards is not supported", name)
	}
	keys, keyExprs, argType, err := typedKeys(t, fc, name)
	if err != nil {
		return executor.Agg{}, nil, err
	}
	list := &executor.ListAgg{Keys: keys, Elements: len(keys) > 0, ArrayDelim: ','}
	value, delim, err := listValue(t, fc, name, typ, argType, list)
	if err != nil {
		return executor.Agg{}, nil, err
	}
	ag := executor.Agg{Kind: listKinds[name], Type: typ, List: list}
	if !list.Elements {
		return ag, []*pg_query.Node{{Node: &pg_query.Node_FuncCall{FuncCall: clone(fc)}}}, nil
	}
	list.ValueKeys = valueKeys(name, fc.Args[0], keyExprs, keys)
	partials := []*pg_query.Node{orderedArray(fc, value)}
	if delim != nil {
		partials = append(partials, orderedArray(fc, delim))
	}
	for i, k := range keyExprs {
		if !list.ValueKeys[i] {
			partials = append(partials, orderedArray(fc, k))
		}
	}
	return ag, partials, nil
}

// typedKeys returns the ORDER BY keys of a list aggregate's call with
// their types, and what the nodes list of each; for json_agg also the
// type of its argument (0 otherwise). The types come from one
// description of the expressions by the shell.
func typedKeys(t *typer, fc *pg_query.FuncCall, name string) ([]executor.SortKey, []*pg_query.Node, uint32, error) {
	keys, exprs, err := listKeys(name, fc.AggOrder)
	if err != nil {
		return nil, nil, 0, err
	}
	probe := exprs
	if name == "json_agg" {
		probe = append([]*pg_query.Node{fc.Args[0]}, exprs...)
	}
	if len(probe) == 0 {
		return nil, nil, 0, nil
	}
	types, err := t.types(probe)
	if err != nil {
		return nil, nil, 0, err
	}
	var argType uint32
	if name == "json_agg" {
		argType, types = types[0], types[1:]
	}
	for i := range keys {
		if exprs[i], keys[i].TypeOID, err = keyPartial(exprs[i], types[i], name); err != nil {
			return nil, nil, 0, err
		}
	}
	return keys, exprs, argType, nil
}

// listValue returns what the nodes list as a list aggregate's values
// (and string_agg's delimiters, or nil), and completes list with how the
// coordinator reads them. argType is json_agg's argument type.
func listValue(t *typer, fc *pg_query.FuncCall, name string, typ, argType uint32, list *executor.ListAgg) (value, delim *pg_query.Node, err error) {
	value = fc.Args[0]
	switch name {
	case "string_agg":
		return stringAggArgs(fc, typ, list)
	case "array_agg":
		// Always as arrays: array_agg's own result is one.
		list.Elements = true
		list.ArrayDelim, err = arrayDelimiter(t, typ)
	case "json_agg":
		value = callOf("to_json", value)
		list.JSONNewline, err = jsonNewline(t, argType)
	case "jsonb_agg":
		value = callOf("to_jsonb", value)
	}
	return value, nil, err
}

// valueKeys marks the keys that are the aggregated value itself, whose
// text the coordinator finds among the values: string_agg's text, or
// array_agg's elements.
func valueKeys(name string, value *pg_query.Node, exprs []*pg_query.Node, keys []executor.SortKey) []bool {
	out := make([]bool, len(keys))
	for i, e := range exprs {
		if cc := e.GetCollateClause(); cc != nil {
			e = cc.Arg
		}
		if !exprEqual(e, value) {
			continue
		}
		switch name {
		case "string_agg":
			switch keys[i].TypeOID {
			case oidText, oidVarchar, oidName, oidBPChar:
				out[i] = true
			}
		case "array_agg":
			out[i] = true
		}
	}
	return out
}

// listKeys reads the ORDER BY of a list aggregate's call: the keys
// (types still unknown, Col counting the keys) and their expressions.
// Text keys must sort as the coordinator compares them, in the C
// collation, the nodes' default.
func listKeys(name string, order []*pg_query.Node) ([]executor.SortKey, []*pg_query.Node, error) {
	var keys []executor.SortKey
	var exprs []*pg_query.Node
	for i, n := range order {
		sb := n.GetSortBy()
		if sb == nil || sb.SortbyDir == pg_query.SortByDir_SORTBY_USING {
			return nil, nil, pgerr.Unsupported("Use ASC or DESC.", "%s(... ORDER BY ... USING) over many shards is not supported", name)
		}
		if !onlyCCollations(sb.Node) {
			return nil, nil, pgerr.Unsupported("Order by the C collation, or group by the distribution column.", "%s(... ORDER BY ... COLLATE) with a non-C collation over many shards is not supported", name)
		}
		k := executor.SortKey{Col: i, Desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
		switch sb.SortbyNulls {
		case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
			k.NullsFirst = true
		case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		default:
			k.NullsFirst = k.Desc
		}
		keys = append(keys, k)
		exprs = append(exprs, sb.Node)
	}
	return keys, exprs, nil
}

// onlyCCollations reports whether every COLLATE clause in expr (one
// inside a function call decides its result's collation too) names the C
// collation.
func onlyCCollations(expr *pg_query.Node) bool {
	ok := true
	walk(expr, func(m proto.Message) bool {
		if cc, is := m.(*pg_query.CollateClause); is && len(cc.Collname) > 0 {
			switch cc.Collname[len(cc.Collname)-1].GetString_().GetSval() {
			case "C", "POSIX":
			default:
				ok = false
			}
		}
		return ok
	})
	return ok
}

// keyPartial returns what the nodes list of an ORDER BY key of type typ,
// and the type the coordinator compares: the key itself if the
// coordinator orders its type, the epoch of a date or timestamp (whose
// text depends on DateStyle and the time zone).
func keyPartial(expr *pg_query.Node, typ uint32, name string) (*pg_query.Node, uint32, error) {
	switch {
	case executor.IsDateTime(typ):
		return epochOf(expr), oidNumeric, nil
	case executor.Comparable(typ):
		return expr, typ, nil
	}
	return nil, 0, pgerr.Unsupported(hintGroupByDist, "%s(... ORDER BY a value of type %d) over many shards is not supported yet", name, typ)
}

// stringAggArgs returns string_agg's value and delimiter as the nodes list
// them, cast to the aggregate's type (char(n) values lose their trailing
// spaces as in the call), and sets how the delimiter arrives: a constant
// text delimiter need not be sent (the delimiter expression is then nil).
func stringAggArgs(fc *pg_query.FuncCall, typ uint32, list *executor.ListAgg) (value, delim *pg_query.Node, err error) {
	cast := "text"
	switch typ {
	case oidText:
	case oidBytea:
		cast = "bytea"
	default:
		return nil, nil, pgerr.Unsupported(hintGroupByDist, "string_agg of type %d over many shards is not supported yet", typ)
	}
	value = castTo(fc.Args[0], cast)
	if c := fc.Args[1].GetAConst(); c != nil && typ == oidText {
		switch {
		case c.Isnull:
			return value, nil, nil
		case c.GetSval() != nil:
			list.Delim = []byte(c.GetSval().GetSval())
			return value, nil, nil
		}
	}
	list.DelimCol, list.Elements = true, true
	return value, castTo(fc.Args[1], cast), nil
}

// arrayDelimiter is the delimiter between elements in the text of arrays
// of type typ: ',' but for box (';') and for types created later, whose
// element type says.
func arrayDelimiter(t *typer, typ uint32) (byte, error) {
	switch {
	case typ == oidBoxArray:
		return ';', nil
	case typ < firstNormalOID:
		return ',', nil
	}
	v, err := t.query(fmt.Sprintf("SELECT e.typdelim::text FROM pg_catalog.pg_type a JOIN pg_catalog.pg_type e ON e.oid = a.typelem WHERE a.oid = %d", typ))
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, pgerr.Unsupported(hintGroupByDist, "array_agg of type %d over many shards is not supported", typ)
	}
	return v[0], nil
}

// baseTypeQuery finds a type's base type (through domains): its OID,
// typtype and typcategory.
const baseTypeQuery = `WITH RECURSIVE d AS (SELECT oid, typtype, typcategory, typbasetype FROM pg_catalog.pg_type WHERE oid = %d ` +
	`UNION ALL SELECT t.oid, t.typtype, t.typcategory, t.typbasetype FROM pg_catalog.pg_type t JOIN d ON t.oid = d.typbasetype) ` +
	`SELECT oid::text || ' ' || typtype::text || typcategory::text FROM d WHERE typtype <> 'd'`

// jsonNewline reports whether json_agg of values of type typ starts each
// value that prints as a JSON object or array on a new line: it does for
// composite and array types. Values of the built-in types print so only
// when of such a type, or json or jsonb (which get no new line); types
// created later could also have a cast to json printing so, and are
// looked up.
func jsonNewline(t *typer, typ uint32) (bool, error) {
	switch {
	case typ == oidJSON || typ == oidJSONB:
		return false, nil
	case typ < firstNormalOID:
		return true, nil
	}
	v, err := t.query(fmt.Sprintf(baseTypeQuery, typ))
	if err != nil {
		return false, err
	}
	oid, kind, _ := strings.Cut(v, " ")
	base, _ := strconv.ParseUint(oid, 10, 32)
	switch {
	case base == oidJSON || base == oidJSONB:
		return false, nil
	case base < firstNormalOID:
		return true, nil
	case len(kind) == 2 && (strings.IndexByte("cerm", kind[0]) >= 0 || kind[1] == 'A'):
		// composite, enum, range and multirange types, and arrays
		return true, nil
	}
	return false, pgerr.Unsupported(hintGroupByDist, "json_agg of type %d over many shards is not supported", typ)
}

// orderedArray is array_agg(expr ORDER BY (fc's order)) FILTER (fc's
// filter).
func orderedArray(fc *pg_query.FuncCall, expr *pg_query.Node) *pg_query.Node {
	call := &pg_query.FuncCall{Funcname: []*pg_query.Node{pg_query.MakeStrNode("array_agg")}, Args: []*pg_query.Node{clone(expr)}, Location: -1}
	for _, o := range fc.AggOrder {
		call.AggOrder = append(call.AggOrder, clone(o))
	}
	if fc.AggFilter != nil {
		call.AggFilter = clone(fc.AggFilter)
	}
	return &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: call}}
}

// callOf is pg_catalog.name(arg).
func callOf(name string, arg *pg_query.Node) *pg_query.Node {
	return &pg_query.Node{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{
		Funcname: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(name)},
		Args:     []*pg_query.Node{clone(arg)},
		Location: -1,
	}}}
}

func isListAggregate(name string) bool {
	_, ok := listKinds[name]
	return ok
}
