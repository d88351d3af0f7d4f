package planner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

var update = flag.Bool("update", false, "rewrite testdata/plans.json from the current planner")

const goldenFile = "testdata/plans.json"

// Type OIDs the fake shell uses.
const (
	oidBool    = 16
	oidInt4    = 23
	oidInt8    = 20
	oidText    = 25
	oidFloat8  = 701
	oidNumeric = 1700
)

// fakeTables are the logical tables as the fake shell database knows them,
// columns in order.
var fakeTables = map[string][]string{
	"t":  {"id", "name", "v"},
	"r":  {"rid", "label"},
	"rr": {"a", "b", "f"},
	"m":  {"k", "w"},
}

// fakeColumnTypes types every column by its name, whatever its table.
var fakeColumnTypes = map[string]uint32{
	"id": oidInt4, "name": oidText, "v": oidNumeric,
	"rid": oidInt4, "label": oidText,
	"a": oidInt4, "b": oidText, "f": oidFloat8,
	"k": oidInt4, "w": oidText,
	"relname": 19, "extra": oidInt4,
}

var fakeTypeNames = map[string]uint32{
	"int4": oidInt4, "int": oidInt4, "integer": oidInt4, "int8": oidInt8, "bigint": oidInt8,
	"text": oidText, "numeric": oidNumeric, "float8": oidFloat8,
}

// fakeShell answers Describe from the statement text alone: a parameter
// is int4 unless declared, a column's type comes from fakeColumnTypes and
// its name follows PostgreSQL's naming of result columns. It records the
// questions it was asked.
type fakeShell struct {
	calls []string
	// values answers QueryValue by a substring of the query.
	values map[string]string
}

var paramRe = regexp.MustCompile(`\$([0-9]+)`)

func (f *fakeShell) Describe(_ context.Context, sql string, paramOIDs []uint32) (*planner.Description, error) {
	f.calls = append(f.calls, fmt.Sprintf("describe %v: %s", paramOIDs, sql))
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, &pgerr.Error{Code: pgerr.SyntaxError, Message: err.Error()}
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("fake shell: %d statements", len(tree.Stmts))
	}
	d := &planner.Description{}
	n := 0
	for _, m := range paramRe.FindAllStringSubmatch(sql, -1) {
		i, _ := strconv.Atoi(m[1])
		n = max(n, i)
	}
	for i := 0; i < n; i++ {
		oid := uint32(oidInt4)
		if i < len(paramOIDs) && paramOIDs[i] != 0 {
			oid = paramOIDs[i]
		}
		d.ParamOIDs = append(d.ParamOIDs, oid)
	}
	var targets []*pg_query.Node
	var from []*pg_query.Node
	switch s := tree.Stmts[0].Stmt.Node.(type) {
	case *pg_query.Node_SelectStmt:
		sel := s.SelectStmt
		for sel.Larg != nil {
			sel = sel.Larg
		}
		targets, from = sel.TargetList, sel.FromClause
	case *pg_query.Node_InsertStmt:
		targets, from = s.InsertStmt.ReturningList, []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: s.InsertStmt.Relation}}}
	case *pg_query.Node_UpdateStmt:
		targets, from = s.UpdateStmt.ReturningList, []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: s.UpdateStmt.Relation}}}
	case *pg_query.Node_DeleteStmt:
		targets, from = s.DeleteStmt.ReturningList, []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: s.DeleteStmt.Relation}}}
	}
	d.Columns = describeTargets(targets, from)
	return d, nil
}

// describeTargets describes a select list; a star expands to the columns
// of the FROM items.
func describeTargets(targets, from []*pg_query.Node) []executor.Column {
	var cols []executor.Column
	for _, tn := range targets {
		rt := tn.GetResTarget()
		if cr := rt.GetVal().GetColumnRef(); cr != nil && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			cols = append(cols, fromColumns(from)...)
			continue
		}
		name, typ := describeExpr(rt.GetVal())
		if rt.Name != "" {
			name = rt.Name
		}
		cols = append(cols, fakeColumn(name, typ))
	}
	return cols
}

func fakeColumn(name string, typ uint32) executor.Column {
	return executor.Column{Name: name, TypeOID: typ, TypeSize: -1, TypeModifier: -1}
}

// fromColumns lists the columns of a FROM clause, left to right.
func fromColumns(from []*pg_query.Node) []executor.Column {
	var out []executor.Column
	var add func(n *pg_query.Node)
	add = func(n *pg_query.Node) {
		switch x := n.GetNode().(type) {
		case *pg_query.Node_RangeVar:
			for _, c := range fakeTables[x.RangeVar.Relname] {
				out = append(out, fakeColumn(c, fakeColumnTypes[c]))
			}
		case *pg_query.Node_RangeSubselect:
			if sel := x.RangeSubselect.Subquery.GetSelectStmt(); sel != nil {
				out = append(out, describeTargets(sel.TargetList, sel.FromClause)...)
			}
		case *pg_query.Node_JoinExpr:
			add(x.JoinExpr.Larg)
			add(x.JoinExpr.Rarg)
		}
	}
	for _, n := range from {
		add(n)
	}
	return out
}

// describeExpr names and types a select-list expression roughly as
// PostgreSQL does.
func describeExpr(n *pg_query.Node) (string, uint32) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		name := x.ColumnRef.Fields[len(x.ColumnRef.Fields)-1].GetString_().GetSval()
		if typ, ok := fakeColumnTypes[name]; ok {
			return name, typ
		}
		return name, oidText
	case *pg_query.Node_FuncCall:
		fname := x.FuncCall.Funcname[len(x.FuncCall.Funcname)-1].GetString_().GetSval()
		var argType uint32 = oidInt4
		if len(x.FuncCall.Args) > 0 {
			_, argType = describeExpr(x.FuncCall.Args[0])
		}
		switch fname {
		case "count", "row_number":
			return fname, oidInt8
		case "avg":
			if argType == oidFloat8 {
				return fname, oidFloat8
			}
			return fname, oidNumeric
		case "sum":
			switch argType {
			case oidInt4:
				return fname, oidInt8
			case oidInt8:
				return fname, oidNumeric
			}
			return fname, argType
		case "min", "max", "bit_and", "bit_or":
			return fname, argType
		case "bool_and", "bool_or", "every":
			return fname, oidBool
		case "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop":
			if argType == oidFloat8 {
				return fname, oidFloat8
			}
			return fname, oidNumeric
		}
		return fname, oidText
	case *pg_query.Node_AConst:
		switch x.AConst.Val.(type) {
		case *pg_query.A_Const_Ival:
			return "?column?", oidInt4
		case *pg_query.A_Const_Fval:
			return "?column?", oidNumeric
		}
		return "?column?", oidText
	case *pg_query.Node_TypeCast:
		names := x.TypeCast.TypeName.Names
		tname := names[len(names)-1].GetString_().GetSval()
		name, _ := describeExpr(x.TypeCast.Arg)
		if name == "?column?" {
			name = tname
		}
		if typ, ok := fakeTypeNames[tname]; ok {
			return name, typ
		}
		return name, oidText
	case *pg_query.Node_AExpr:
		_, typ := describeExpr(x.AExpr.Lexpr)
		return "?column?", typ
	case *pg_query.Node_CollateClause:
		return describeExpr(x.CollateClause.Arg)
	}
	return "?column?", oidText
}

func (f *fakeShell) QueryValue(_ context.Context, sql string) (string, bool, error) {
	f.calls = append(f.calls, "query value: "+sql)
	if strings.Contains(sql, "format_type(atttypid, atttypmod)") {
		// A table's columns with their types and type OIDs.
		table := sql[strings.Index(sql, `'"public"."`)+len(`'"public"."`):]
		table = table[:strings.Index(table, `"`)]
		names := map[uint32]string{oidInt4: "integer", oidText: "text", oidNumeric: "numeric", oidFloat8: "double precision"}
		var cols []string
		for _, c := range append(fakeTables[table], map[string][]string{"u": {"uid", "tid"}, "w": {"wid"}}[table]...) {
			typ, ok := fakeColumnTypes[c]
			if !ok {
				typ = oidInt4
			}
			cols = append(cols, fmt.Sprintf("%s\x1e%s\x1e%d", c, names[typ], typ))
		}
		return strings.Join(cols, "\x1f"), len(cols) > 0, nil
	}
	if strings.Contains(sql, "pg_catalog.format_type(t, NULLIF(m, -1))") {
		// Type names, for the OIDs the fake describes.
		list := sql[strings.Index(sql, "'{")+2 : strings.Index(sql, "}'")]
		names := map[string]string{"16": "boolean", "20": "bigint", "23": "integer", "25": "text", "701": "double precision", "1700": "numeric"}
		var out []string
		for _, oid := range strings.Split(list, ",") {
			out = append(out, names[oid])
		}
		return strings.Join(out, "\x1f"), true, nil
	}
	keys := make([]string, 0, len(f.values))
	for k := range f.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(sql, k) {
			return f.values[k], true, nil
		}
	}
	return "", false, nil
}

// testCatalog is the catalog every case is planned against: three nodes,
// a hash table t(id int, name text, v numeric) by id with 4 shards, a
// reference table r(rid int, label text), a round-robin table rr(a int,
// b text, f float8) and a modulo table m(k int, w text) by k.
func testCatalog(t *testing.T) *catalog.Snapshot {
	t.Helper()
	var snap *catalog.Snapshot
	for _, cmd := range []catalog.Command{
		catalog.AddNode{Name: "n1", Host: "10.0.0.1", Port: 5432},
		catalog.AddNode{Name: "n2", Host: "10.0.0.2", Port: 5432},
		catalog.AddNode{Name: "n3", Host: "10.0.0.3", Port: 5432},
		catalog.CreateTable{Schema: "public", Name: "t", Method: catalog.MethodHash, DistColumn: "id", DistType: oidInt4, ShardCount: 4},
		catalog.CreateTable{Schema: "public", Name: "r", Method: catalog.MethodReplication},
		catalog.CreateTable{Schema: "public", Name: "rr", Method: catalog.MethodRoundRobin, ShardCount: 3},
		catalog.CreateTable{Schema: "public", Name: "m", Method: catalog.MethodModulo, DistColumn: "k", DistType: oidInt4, ShardCount: 3},
	} {
		var err error
		if snap, err = catalog.ApplyCommand(snap, cmd); err != nil {
			t.Fatalf("catalog: %v", err)
		}
	}
	return snap
}

// Catalog variants some cases are planned against.
var catalogVariants = map[string][]catalog.Command{
	// A node added after the tables were created: it holds no placement.
	"n4-added": {catalog.AddNode{Name: "n4", Host: "10.0.0.4", Port: 5432}},
	// The first node is draining but still holds its placements.
	"n1-draining": {catalog.SetNodeState{Name: "n1", State: catalog.NodeDraining}},
	// u(uid int, tid int) colocated with t by uid; w(wid int) by hash in
	// its own group (8 shards).
	"colocated": {
		catalog.CreateTable{Schema: "public", Name: "u", Method: catalog.MethodHash, DistColumn: "uid", DistType: oidInt4, ShardCount: 4},
		catalog.CreateTable{Schema: "public", Name: "w", Method: catalog.MethodHash, DistColumn: "wid", DistType: oidInt4, ShardCount: 8},
	},
}

type planCase struct {
	name string
	sql  string
	// params are the parameter types the client declared.
	params []uint32
	// defaultDist is Env.DefaultDistribution.
	defaultDist string
	// variant names an entry of catalogVariants.
	variant string
	// code is the SQLSTATE the plan must fail with ("" for success).
	code string
	// check makes extra assertions on a successful plan.
	check func(t *testing.T, p *planner.Plan)
}

var planCases = []planCase{
	// Router: the distribution column fixed to one value.
	{name: "router/constant", sql: "SELECT id, name FROM t WHERE id = 5", check: routeTargets(1)},
	{name: "router/constant-reversed-in-and", sql: "SELECT name FROM t WHERE name = 'x' AND 7 = id", check: routeTargets(1)},
	{name: "router/string-constant-same-shard-as-int", sql: "SELECT * FROM t WHERE id = '5'", check: routeTargets(1)},
	{name: "router/null", sql: "SELECT * FROM t WHERE id = NULL", check: routeTargets(1)},
	{name: "router/param", sql: "SELECT id, name FROM t WHERE id = $1", check: routeTargets(4)},
	{name: "router/param-declared-int8", sql: "SELECT id FROM t WHERE id = $1::bigint", params: []uint32{oidInt8}, check: routeTargets(4)},
	{name: "router/alias", sql: "SELECT x.name FROM t AS x WHERE x.id = 5", check: routeTargets(1)},
	{name: "router/join-reference", sql: "SELECT t.id, r.label FROM t JOIN r ON r.rid = t.id WHERE t.id = 3", check: routeTargets(1)},
	{name: "router/window-with-key", sql: "SELECT id, row_number() OVER () FROM t WHERE id = 5", check: routeTargets(1)},
	{name: "router/modulo", sql: "SELECT * FROM m WHERE k = 7", check: routeTargets(1)},
	{name: "router/modulo-negative", sql: "SELECT * FROM m WHERE k = -1", check: routeTargets(1)},
	{name: "router/update-routed", sql: "UPDATE t SET name = 'x' WHERE id = 5", check: routeTargets(1)},
	{name: "router/update-param-returning", sql: "UPDATE t SET v = v + 1 WHERE id = $1 RETURNING v", check: routeTargets(4)},
	{name: "router/update-from-reference", sql: "UPDATE t SET name = r.label FROM r WHERE r.rid = t.id AND t.id = 2", check: routeTargets(1)},
	{name: "router/delete", sql: "DELETE FROM t WHERE id = 5", check: routeTargets(1)},
	{name: "router/delete-param-returning", sql: "DELETE FROM t WHERE id = $1 RETURNING name", check: routeTargets(4)},
	{name: "router/delete-modulo", sql: "DELETE FROM m WHERE k = 4", check: routeTargets(1)},
	{name: "router/subquery-with-fixed-key", sql: "SELECT * FROM (SELECT * FROM t WHERE id = 5) s", check: routeTargets(1)},
	{name: "router/cte-with-fixed-key", sql: "WITH c AS (SELECT * FROM t WHERE id = $1) SELECT count(*) FROM c", check: routeTargets(4)},
	{name: "router/union-with-fixed-key", sql: "SELECT id FROM t WHERE id = 5 UNION ALL SELECT rid FROM r", check: routeTargets(1)},
	{name: "router/exists-with-fixed-key", sql: "SELECT label FROM r WHERE EXISTS (SELECT 1 FROM t WHERE t.id = 7 AND t.name = r.label)", check: routeTargets(1)},

	// Reference tables and statements on no distgres table.
	{name: "reference/select", sql: "SELECT * FROM r WHERE rid = 1", check: routeTargets(1)},
	{name: "reference/select-ordered", sql: "SELECT label FROM r ORDER BY label", check: routeTargets(1)},
	{name: "reference/insert", sql: "INSERT INTO r (rid, label) VALUES (1, 'x')"},
	{name: "reference/update", sql: "UPDATE r SET label = 'z' WHERE rid = 1"},
	{name: "shell/no-table", sql: "SELECT 1 AS one"},
	{name: "shell/catalog", sql: "SELECT relname FROM pg_class WHERE relname = 't'"},

	// Scatter over the nodes with merge.
	{name: "scatter/plain", sql: "SELECT id, name FROM t"},
	{name: "scatter/order-limit-offset", sql: "SELECT id, name FROM t ORDER BY name DESC, id LIMIT 10 OFFSET 5", check: workerSQL(`LIMIT 10 + 5`, `OFFSET`)},
	{name: "scatter/limit-offset-params", sql: "SELECT id FROM t ORDER BY id LIMIT $1 OFFSET $2", check: workerSQL(`LIMIT $1 + $2`, `OFFSET`)},
	{name: "scatter/limit-only", sql: "SELECT id FROM t LIMIT 3", check: workerSQL(`LIMIT 3`, `OFFSET`)},
	{name: "scatter/offset-only", sql: "SELECT id FROM t ORDER BY id OFFSET 3", check: workerSQL(``, `OFFSET`)},
	{name: "scatter/limit-all-offset", sql: "SELECT id FROM t ORDER BY id LIMIT ALL OFFSET 2", check: workerSQL(``, `OFFSET`)},
	{name: "scatter/hidden-order-by", sql: "SELECT name FROM t ORDER BY v DESC NULLS LAST, id LIMIT 3"},
	{name: "scatter/star-hidden-order-by", sql: "SELECT * FROM t ORDER BY v + 1"},
	{name: "scatter/order-by-alias-and-position", sql: "SELECT id AS k, name FROM t ORDER BY k DESC, 2"},
	{name: "scatter/order-by-collate-c", sql: `SELECT name FROM t ORDER BY name COLLATE "C"`},
	{name: "scatter/distinct-with-dist-column", sql: "SELECT DISTINCT id, name FROM t"},
	{name: "scatter/where-or", sql: "SELECT name FROM t WHERE id = 1 OR id = 2"},
	{name: "scatter/join-reference", sql: "SELECT t.name, r.label FROM t JOIN r ON r.rid = t.id"},
	{name: "scatter/only", sql: "SELECT id FROM ONLY t"},
	{name: "scatter/roundrobin", sql: "SELECT a, b FROM rr ORDER BY a"},
	{name: "scatter/modulo", sql: "SELECT k FROM m"},
	{name: "scatter/update-broadcast", sql: "UPDATE t SET name = 'x' WHERE name = 'y'"},
	{name: "scatter/delete-broadcast", sql: "DELETE FROM t WHERE v < 0"},
	{name: "scatter/delete-roundrobin", sql: "DELETE FROM rr WHERE a = 1"},

	// Aggregates.
	{name: "agg/group-by-dist-pushdown", sql: "SELECT id, count(*), sum(v) FROM t GROUP BY id"},
	{name: "agg/group-by-dist-position-order-limit", sql: "SELECT id, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 5"},
	{name: "agg/group-by-dist-having", sql: "SELECT id FROM t GROUP BY id HAVING count(*) > 1"},
	{name: "agg/two-phase", sql: "SELECT count(*), sum(id), min(name), max(v), avg(v) FROM t", check: workerSQL(`max(v), sum(v), count(v)`, ``)},
	{name: "agg/two-phase-avg-int-where-param", sql: "SELECT avg(id) FROM t WHERE name <> $1"},
	{name: "agg/group-by-other", sql: "SELECT name, count(*), avg(v) FROM t GROUP BY name ORDER BY name LIMIT 10"},
	{name: "agg/group-by-other-position", sql: "SELECT name, sum(v) FROM t GROUP BY 1 ORDER BY 2 DESC"},
	{name: "agg/avg-float", sql: "SELECT b, avg(f) FROM rr GROUP BY b"},
	{name: "agg/filter", sql: "SELECT count(*) FILTER (WHERE v > 0), avg(v) FILTER (WHERE v > 0) FROM t"},
	{name: "agg/key-routes", sql: "SELECT count(*) FROM t WHERE id = 9", check: routeTargets(1)},
	{name: "agg/group-key-not-selected", sql: "SELECT count(*) FROM t GROUP BY v"},
	{name: "agg/bool-and-bit-or", sql: "SELECT name, bool_and(v > 0), bool_or(id > 3), every(v IS NULL), bit_and(id), bit_or(id) FILTER (WHERE v > 0) FROM t GROUP BY name",
		check: workerSQL(`bit_or(id) FILTER (WHERE v > 0)`, ``)},
	{name: "agg/variance-numeric", sql: "SELECT name, stddev(v), var_pop(id) FILTER (WHERE v > 0) FROM t GROUP BY name ORDER BY name",
		check: workerSQL(`sum(id::numeric * id::numeric) FILTER (WHERE v > 0)`, ``)},
	{name: "agg/variance-float", sql: "SELECT b, stddev_samp(f), variance(f) FROM rr GROUP BY b", check: workerSQL(`var_pop(f::double precision)`, ``)},
	{name: "agg/count-distinct-non-key", sql: "SELECT count(DISTINCT name) FROM t", check: workerSQL(`GROUP BY name`, ``)},
	{name: "agg/count-distinct-grouped-filter", sql: "SELECT v, count(DISTINCT name) FILTER (WHERE id > 0), count(*), max(id) FROM t GROUP BY v",
		check: workerSQL(`count(name) FILTER (WHERE id > 0)`, ``)},
	// string_agg, array_agg, json_agg and jsonb_agg: ordered lists merge
	// by their keys, unordered ones concatenate.
	{name: "agg/string-agg-ordered-by-value", sql: "SELECT v, string_agg(name, ',' ORDER BY name) FROM t GROUP BY v",
		check: all(twoPhase, workerSQL(`array_agg(name::pg_catalog.text ORDER BY name) FROM`, ``))},
	{name: "agg/string-agg-ordered-keys-filter", sql: "SELECT v, string_agg(name, ';' ORDER BY v DESC NULLS LAST, id) FILTER (WHERE id > 0) FROM t GROUP BY v ORDER BY v",
		check: all(twoPhase, workerSQL(`array_agg(id ORDER BY v DESC NULLS LAST, id) FILTER (WHERE id > 0)`, ``))},
	{name: "agg/string-agg-delimiter-column", sql: "SELECT string_agg(name, name ORDER BY name COLLATE \"C\" DESC, id) FROM t",
		check: all(twoPhase, workerSQL(`array_agg(name::pg_catalog.text ORDER BY name COLLATE "C" DESC, id), array_agg(name::pg_catalog.text ORDER BY name COLLATE "C" DESC, id), array_agg(id ORDER BY`, ``))},
	{name: "agg/string-agg-unordered", sql: "SELECT v, string_agg(name, ', '), string_agg(name, NULL) FROM t GROUP BY v",
		check: all(twoPhase, workerSQL(`string_agg(name, ', '), string_agg(name, NULL)`, `array_agg`))},
	{name: "agg/array-agg", sql: "SELECT array_agg(v ORDER BY v DESC), array_agg(name) FILTER (WHERE id > 2) FROM t",
		check: all(twoPhase, workerSQL(`array_agg(v ORDER BY v DESC), array_agg(name) FILTER (WHERE id > 2)`, ``))},
	{name: "agg/json-agg-jsonb-agg", sql: "SELECT name, json_agg(v ORDER BY id), jsonb_agg(name), json_agg(id) FROM t GROUP BY name",
		check: all(twoPhase, workerSQL(`array_agg(pg_catalog.to_json(v) ORDER BY id), array_agg(id ORDER BY id), jsonb_agg(name), json_agg(id)`, ``))},
	{name: "agg/jsonb-agg-ordered-roundrobin", sql: "SELECT b, jsonb_agg(f ORDER BY a NULLS FIRST) FROM rr GROUP BY b",
		check: all(twoPhase, workerSQL(`array_agg(pg_catalog.to_jsonb(f) ORDER BY a NULLS FIRST), array_agg(a ORDER BY a NULLS FIRST)`, ``))},
	{name: "pull/string-agg-non-c-collation", sql: `SELECT v, string_agg(name, ',' ORDER BY lower(name COLLATE "en_US")) FROM t GROUP BY v`},
	{name: "pull/array-agg-distinct", sql: "SELECT array_agg(DISTINCT name ORDER BY name) FROM t"},

	// INSERT.
	{name: "insert/single-constant", sql: "INSERT INTO t (id, name) VALUES (1, 'a')", check: routeTargets(1)},
	{name: "insert/single-param", sql: "INSERT INTO t (id, name, v) VALUES ($1, $2, $3)", check: routeTargets(4)},
	{name: "insert/no-column-list", sql: "INSERT INTO t VALUES (2, 'b', 1.5)", check: routeTargets(1)},
	{name: "insert/multi-row", sql: "INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')"},
	{name: "insert/multi-row-params-returning", sql: "INSERT INTO t (name, id) VALUES ($1, $2), ($3, $4) RETURNING id"},
	{name: "insert/roundrobin", sql: "INSERT INTO rr (a, b) VALUES (1, 'x'), (2, 'y')"},
	{name: "insert/modulo", sql: "INSERT INTO m (k, w) VALUES (-1, 'x'), (4, 'y')"},
	{name: "insert/on-conflict", sql: "INSERT INTO t (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name", check: routeTargets(1)},

	// CREATE TABLE.
	{name: "create/hash", sql: "CREATE TABLE h1 (id bigint, x text) DISTRIBUTE BY HASH(id)"},
	{name: "create/modulo", sql: "CREATE TABLE h2 (k int, x text) DISTRIBUTE BY MODULO(k)"},
	{name: "create/roundrobin", sql: "CREATE TABLE h3 (x text) DISTRIBUTE BY ROUNDROBIN"},
	{name: "create/replication", sql: "CREATE TABLE h4 (code text PRIMARY KEY, x int) DISTRIBUTE BY REPLICATION"},
	{name: "create/default-primary-key", sql: "CREATE TABLE d1 (x text, y int PRIMARY KEY, z int)"},
	{name: "create/default-table-primary-key", sql: "CREATE TABLE d2 (a int, b text, c int, PRIMARY KEY (c, a))"},
	{name: "create/default-unique", sql: "CREATE TABLE d3 (a float8, b int UNIQUE)"},
	{name: "create/default-first-hashable", sql: "CREATE TABLE d4 (a float8, b numeric, c text, d int)"},
	{name: "create/default-roundrobin", sql: "CREATE TABLE d5 (a float8, b jsonb)"},
	// The default rule skips the unhashable primary key column, picks b,
	// and then rejects the primary key it chose not to follow.
	{name: "create/default-unhashable-primary-key-replicates", sql: "CREATE TABLE d6 (a float8 PRIMARY KEY, b int)"},
	{name: "create/default-uniques-without-common-column-replicate", sql: "CREATE TABLE d7 (a int PRIMARY KEY, b text UNIQUE)"},
	{name: "create/default-uniques-sharing-second-column", sql: "CREATE TABLE d8 (a int, b int, UNIQUE (a, b), UNIQUE (b))"},
	{name: "create/named-constraints", sql: "CREATE TABLE d7 (id int CONSTRAINT d7_pkey PRIMARY KEY, code text, CONSTRAINT code_chk CHECK (code <> ''))"},
	{name: "create/env-default-replication", sql: "CREATE TABLE d8 (id int PRIMARY KEY)", defaultDist: "replication"},
	{name: "create/env-default-hash-first-column", sql: "CREATE TABLE d9 (a text, b int)", defaultDist: "hash-first-column"},
	{name: "create/if-not-exists-existing", sql: "CREATE TABLE IF NOT EXISTS t (id int)"},
	{name: "create/temp", sql: "CREATE TEMP TABLE tmp1 (a int)"},

	// Other DDL.
	{name: "index/create", sql: "CREATE INDEX t_name_idx ON t (name)"},
	{name: "index/create-unique-with-dist-column", sql: "CREATE UNIQUE INDEX t_id_name_key ON t (id, name)"},
	{name: "index/create-unnamed", sql: "CREATE INDEX ON t (v)"},
	{name: "index/create-reference-unique", sql: "CREATE UNIQUE INDEX r_label_key ON r (label)"},
	{name: "index/drop", sql: "DROP INDEX t_name_idx"},
	{name: "alter/add-column", sql: "ALTER TABLE t ADD COLUMN extra int DEFAULT 0"},
	{name: "alter/add-constraint", sql: "ALTER TABLE t ADD CONSTRAINT t_id_name_key UNIQUE (id, name)"},
	{name: "alter/drop-constraint", sql: "ALTER TABLE t DROP CONSTRAINT t_pkey"},
	{name: "alter/rename-table", sql: "ALTER TABLE t RENAME TO t_new"},
	{name: "alter/rename-column", sql: "ALTER TABLE t RENAME COLUMN name TO title"},
	{name: "drop/table", sql: "DROP TABLE t"},
	{name: "drop/tables-cascade", sql: "DROP TABLE t, r CASCADE"},
	{name: "drop/if-exists-with-missing", sql: "DROP TABLE IF EXISTS t, nosuch"},
	{name: "truncate/one", sql: "TRUNCATE t"},
	{name: "truncate/many", sql: "TRUNCATE t, r RESTART IDENTITY CASCADE"},
	{name: "utility/broadcast", sql: "CREATE SCHEMA s1"},
	{name: "utility/role", sql: "CREATE ROLE app"},

	// EXPLAIN shows the distributed plan.
	{name: "explain/scatter", sql: "EXPLAIN SELECT id FROM t ORDER BY id LIMIT 2"},
	{name: "explain/two-phase", sql: "EXPLAIN SELECT name, count(*) FROM t GROUP BY name"},
	{name: "explain/router-options", sql: "EXPLAIN (COSTS false, VERBOSE) SELECT name FROM t WHERE id = 5"},
	{name: "explain/analyze-select", sql: "EXPLAIN ANALYZE SELECT count(*) FROM t"},
	{name: "explain/recursive-update", sql: "EXPLAIN UPDATE t SET v = 1 WHERE v > (SELECT avg(v) FROM t)"},
	{name: "explain/analyze-write", sql: "EXPLAIN (ANALYZE, COSTS off, TIMING off) DELETE FROM t WHERE v > 1"},

	// Errors with their SQLSTATE.
	{name: "error/unique-without-dist-column", sql: "CREATE TABLE e1 (id int, code text UNIQUE) DISTRIBUTE BY HASH(id)", code: "0A000"},
	{name: "error/primary-key-roundrobin", sql: "CREATE TABLE e2 (id int PRIMARY KEY) DISTRIBUTE BY ROUNDROBIN", code: "0A000"},
	{name: "error/hash-on-numeric", sql: "CREATE TABLE e3 (v numeric) DISTRIBUTE BY HASH(v)", code: "0A000"},
	{name: "error/distribute-missing-column", sql: "CREATE TABLE e4 (id int) DISTRIBUTE BY HASH(nope)", code: "42703"},
	{name: "error/create-existing", sql: "CREATE TABLE t (id int)", code: "42P07"},
	{name: "error/foreign-key", sql: "CREATE TABLE e5 (id int, rid int REFERENCES r (rid)) DISTRIBUTE BY HASH(id)", code: "0A000"},
	{name: "error/modulo-on-text", sql: "CREATE TABLE e6 (x text) DISTRIBUTE BY MODULO(x)", code: "0A000"},
	{name: "error/distribute-syntax", sql: "CREATE TABLE e7 (id int) DISTRIBUTE BY HASH id", code: "42601"},
	{name: "ddl/unique-index-without-dist-column-replicates", sql: "CREATE UNIQUE INDEX ON t (name)"},
	{name: "error/unique-index-without-dist-column-concurrently", sql: "CREATE UNIQUE INDEX CONCURRENTLY ON t (name)", code: "0A000"},
	{name: "error/alter-add-unique-column", sql: "ALTER TABLE t ADD COLUMN code text UNIQUE", code: "0A000"},
	{name: "error/alter-add-primary-key-other-column", sql: "ALTER TABLE t ADD PRIMARY KEY (name)", code: "0A000"},
	{name: "error/alter-drop-dist-column", sql: "ALTER TABLE t DROP COLUMN id", code: "0A000"},
	{name: "error/alter-type-dist-column", sql: "ALTER TABLE t ALTER COLUMN id TYPE bigint", code: "0A000"},
	{name: "error/drop-with-unknown-table", sql: "DROP TABLE t, nosuch", code: "0A000"},
	{name: "modify/update-dist-column-routed", sql: "UPDATE t SET id = 6 WHERE id = 5"},
	{name: "modify/update-dist-column-everywhere", sql: "UPDATE t SET id = id + 1, name = upper(name)"},
	{name: "error/update-dist-column-returning", sql: "UPDATE t SET id = 6 WHERE id = 5 RETURNING name", code: "0A000"},
	{name: "error/update-dist-column-default", sql: "UPDATE t SET id = DEFAULT", code: "0A000"},
	{name: "error/update-dist-column-multiassign", sql: "UPDATE t SET (id, name) = (1, 'x')", code: "0A000"},
	{name: "error/insert-on-conflict-sets-dist-column", sql: "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2", code: "0A000"},
	{name: "error/insert-without-dist-column", sql: "INSERT INTO t (name) VALUES ('a')", code: "0A000"},
	{name: "error/insert-dist-expression", sql: "INSERT INTO t (id) VALUES (1 + 1)", code: "0A000"},
	{name: "pull/insert-select", sql: "INSERT INTO t (id) SELECT rid FROM r"},
	{name: "pull/join-two-distributed", sql: "SELECT * FROM t JOIN rr ON rr.a = t.id"},
	{name: "router/self-join-with-key", sql: "SELECT * FROM t a JOIN t b ON a.id = b.id WHERE a.id = 1", check: routeTargets(1)},
	{name: "colocated/join-scatter", sql: "SELECT t.name, u.tid FROM t JOIN u ON u.uid = t.id", variant: "colocated"},
	{name: "colocated/join-order-by-limit", sql: "SELECT t.name, u.tid FROM t JOIN u ON u.uid = t.id ORDER BY u.tid DESC, t.name NULLS FIRST LIMIT 5", variant: "colocated"},
	{name: "colocated/join-group-by", sql: "SELECT u.tid, count(*) FROM t JOIN u ON t.id = u.uid GROUP BY u.tid", variant: "colocated"},
	{name: "colocated/left-join-where", sql: "SELECT t.id FROM t LEFT JOIN u ON t.id = u.uid AND u.tid > 0 WHERE t.v > 1", variant: "colocated"},
	{name: "colocated/three-way-via-where", sql: "SELECT count(*) FROM t, u, t AS t2 WHERE t.id = u.uid AND t2.id = u.uid", variant: "colocated"},
	{name: "colocated/join-on-other-column-pulls", sql: "SELECT count(*) FROM t JOIN u ON u.tid = t.id", variant: "colocated"},
	{name: "colocated/or-condition-pulls", sql: "SELECT count(*) FROM t JOIN u ON u.uid = t.id OR u.tid = 1", variant: "colocated"},
	{name: "colocated/dual-repartition-fallback", sql: "SELECT t.name, count(*) FROM t JOIN u ON u.tid = t.v GROUP BY t.name", variant: "colocated"},
	{name: "colocated/repartition-one-broadcast-other", sql: "SELECT count(*) FROM t, u, w WHERE u.tid = t.id AND w.wid = u.uid", variant: "colocated"},
	{name: "colocated/repartition-with-subquery-in-from", sql: "SELECT t.name, count(*) FROM t JOIN (SELECT 1) AS one(x) ON true JOIN w ON w.wid = t.id GROUP BY t.name", variant: "colocated"},
	{name: "colocated/other-group-pulls", sql: "SELECT count(*) FROM t JOIN w ON w.wid = t.id", variant: "colocated"},
	{name: "colocated/insert-select-pushdown", sql: "INSERT INTO u (uid, tid) SELECT id, v::int FROM t WHERE name <> 'x'", variant: "colocated"},
	{name: "colocated/insert-select-computed-key-through-coordinator", sql: "INSERT INTO u (uid, tid) SELECT id + 1, 0 FROM t", variant: "colocated"},
	{name: "colocated/insert-select-other-group-through-coordinator", sql: "INSERT INTO w (wid) SELECT id FROM t", variant: "colocated"},
	{name: "pull/window-over-shards", sql: "SELECT id, row_number() OVER (ORDER BY id) FROM t"},
	{name: "merge/window-partitioned-by-dist", sql: "SELECT id, v, rank() OVER w, sum(v) OVER (PARTITION BY t.id ORDER BY v) FROM t WINDOW w AS (PARTITION BY id ORDER BY name) ORDER BY id LIMIT 5"},
	{name: "pull/window-partitioned-by-other", sql: "SELECT id, rank() OVER (PARTITION BY name ORDER BY id) FROM t"},
	{name: "agg/finish-window-over-groups", sql: "SELECT name, sum(v), rank() OVER (ORDER BY sum(v) DESC) FROM t GROUP BY name"},
	{name: "pull/distinct-over-groups-of-dist-column", sql: "SELECT DISTINCT 1 FROM t GROUP BY id"},
	{name: "agg/distinct-without-dist-column", sql: "SELECT DISTINCT name FROM t"},
	{name: "merge/distinct-on", sql: "SELECT DISTINCT ON (name) name, id FROM t ORDER BY name, id DESC LIMIT 5"},
	{name: "merge/distinct-on-keys-added-to-order", sql: "SELECT DISTINCT ON (v, name) id FROM t ORDER BY v DESC"},
	{name: "merge/distinct-on-dist-column-pushes-down", sql: "SELECT DISTINCT ON (id) id, name FROM t ORDER BY id, name"},
	{name: "pull/catalog-and-distributed", sql: "SELECT * FROM t, pg_class"},
	{name: "error/for-update-over-shards", sql: "SELECT * FROM t FOR UPDATE", code: "0A000"},
	{name: "agg/finish-expression", sql: "SELECT count(*) + 1 FROM t"},
	{name: "pull/narrowed-join", sql: "SELECT t.name, count(*) FROM t JOIN rr ON rr.a = t.v::int WHERE t.id > 5 AND rr.b = 'x' AND t.v + rr.a > 0 GROUP BY t.name"},
	{name: "pull/narrowed-left-join-keeps-nullable-side", sql: "SELECT t.id FROM t LEFT JOIN rr ON rr.a = t.id WHERE rr.b IS NULL AND t.name LIKE 'a%'"},
	{name: "pull/narrowed-star-and-functions", sql: "SELECT * FROM t JOIN rr ON rr.a = t.id WHERE lower(t.name) = 'a' AND rr.f > $1"},
	{name: "pull/narrowed-subquery-in-from", sql: "SELECT count(*) FROM (SELECT t.name FROM t WHERE t.v > 3) s JOIN rr ON rr.b = s.name"},
	{name: "pull/narrowed-in-sublink", sql: "SELECT t.id FROM t WHERE t.name IN (SELECT rr.b FROM rr WHERE rr.a > 1) AND t.v < 5"},
	{name: "pull/self-join-not-narrowed", sql: "SELECT a.id FROM t a JOIN t b ON a.v = b.v WHERE a.id = 1 OR b.id = 2"},
	{name: "agg/dedup-sum-distinct", sql: "SELECT sum(DISTINCT v) FROM t"},
	{name: "pull/two-phase-count-distinct-constant", sql: "SELECT count(DISTINCT 1) FROM t"},
	{name: "agg/dedup-string-agg-distinct", sql: "SELECT name, string_agg(DISTINCT name, ',') FROM t GROUP BY name"},
	{name: "agg/having", sql: "SELECT name FROM t GROUP BY name HAVING count(*) > 1"},
	{name: "agg/having-hidden-group-and-or", sql: "SELECT count(*) FROM t GROUP BY name, v HAVING (v > 2 OR v IS NULL) AND NOT count(*) = 3 ORDER BY 1"},
	{name: "agg/finish-having-expression", sql: "SELECT name FROM t GROUP BY name HAVING sum(v) / count(*) > 2"},
	{name: "agg/finish-having-bad-constant", sql: "SELECT name FROM t GROUP BY name HAVING count(*) > 'x'"},
	{name: "pull/order-by-non-c-collation", sql: `SELECT name FROM t ORDER BY name COLLATE "en_US"`},
	{name: "union/all-with-casts", sql: "SELECT id, v FROM t WHERE v > 1 UNION ALL SELECT rid, 2 FROM r UNION ALL SELECT k, 1.5 FROM m"},
	{name: "union/all-over-shards", sql: "SELECT id FROM t UNION ALL SELECT rid FROM r"},
	{name: "pull/subquery-without-key", sql: "SELECT * FROM (SELECT * FROM t WHERE name = 'x') s"},
	{name: "error/copy-server-file", sql: "COPY t FROM '/tmp/rows.csv'", code: "0A000"},
	// COPY's options are checked as PostgreSQL checks them (the fake shell
	// has no dry run of COPY).
	{name: "error/copy-force-quote-text", sql: "COPY t TO STDOUT (FORCE_QUOTE (name))", code: "0A000"},
	{name: "error/copy-force-quote-from", sql: "COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE *)", code: "0A000"},
	{name: "error/copy-force-not-null-to", sql: "COPY t TO STDOUT CSV FORCE NOT NULL name", code: "0A000"},
	{name: "error/copy-force-null-text", sql: "COPY t FROM STDIN (FORCE_NULL (name))", code: "0A000"},
	{name: "error/copy-force-null-star", sql: "COPY t FROM STDIN (FORMAT csv, FORCE_NULL *)", code: "22023"},
	{name: "error/copy-force-null-twice", sql: "COPY t FROM STDIN (FORMAT csv, FORCE_NULL (id), FORCE_NULL (name))", code: "42601"},
	{name: "error/copy-force-not-null-duplicate-column", sql: "COPY t (id, name) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (name, name))", code: "42701"},
	{name: "error/copy-query-force-quote-unknown-column", sql: "COPY (SELECT id FROM t) TO STDOUT (FORMAT csv, FORCE_QUOTE (name))", code: "42703"},
	{name: "error/copy-query-binary-header", sql: "COPY (SELECT id FROM t) TO STDOUT (FORMAT binary, HEADER)", code: "0A000"},
	{name: "copy/from-csv-force-where", sql: "COPY t (id, name) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (name), FORCE_NULL (id)) WHERE t.id > 0 AND public.t.name <> ''",
		check: func(t *testing.T, p *planner.Plan) {
			in := p.CopyIn
			sh := in.Table.Shards[1]
			sql, err := in.ShardSQL(sh)
			shard := planner.ShardTableName(in.Table, sh)
			want := `COPY "public"."` + shard + `" ("id", "name") FROM STDIN (FORMAT csv, FORCE_NOT_NULL ("name"), FORCE_NULL ("id")) WHERE ` + shard + `.id > 0 AND public.` + shard + `.name <> ''`
			if err != nil || sql != want {
				t.Errorf("shard SQL %q (%v), want %q", sql, err, want)
			}
			if fmt.Sprint(in.Options.ForceNotNull, in.Options.ForceNull) != "[false true] [true false]" {
				t.Errorf("FORCE_NOT_NULL %v, FORCE_NULL %v", in.Options.ForceNotNull, in.Options.ForceNull)
			}
		}},
	{name: "copy/query-binary-routed", sql: "COPY (SELECT id, name FROM t WHERE id = 5) TO STDOUT (FORMAT binary)",
		check: func(t *testing.T, p *planner.Plan) { routeTargets(1)(t, p.CopyOut.Query) }},
	{name: "copy/query-force-quote", sql: "COPY (SELECT id, name FROM t) TO STDOUT CSV FORCE QUOTE name",
		check: func(t *testing.T, p *planner.Plan) {
			if q := p.CopyOut.Options.ForceQuote; fmt.Sprint(q) != "[false true]" {
				t.Errorf("FORCE_QUOTE flags %v", q)
			}
		}},

	// Catalog changes after the tables were created.
	{name: "variant/node-added/reference-insert", sql: "INSERT INTO r (rid, label) VALUES (2, 'y')", variant: "n4-added"},
	{name: "variant/node-added/reference-select", sql: "SELECT label FROM r", variant: "n4-added"},
	{name: "variant/node-added/hash-select", sql: "SELECT id FROM t ORDER BY id", variant: "n4-added"},
	{name: "variant/first-node-draining/reference-update", sql: "UPDATE r SET label = 'z'", variant: "n1-draining"},

	// DISTRIBUTE BY on a statement other than CREATE TABLE.
	{name: "misc/distribute-by-on-select", sql: "SELECT id FROM t DISTRIBUTE BY REPLICATION"},
	// "distribute" as a column and BY (an unreserved keyword) as its
	// alias is valid PostgreSQL: SELECT distribute by FROM (SELECT 1 AS
	// distribute) s returns 1.
	{name: "misc/distribute-by-as-column-alias", sql: "SELECT distribute by FROM (SELECT 1 AS distribute) s"},
	// A CTE named like a distributed table, inside a subquery, must not hide
	// the outer reference to the table.
	{name: "misc/cte-named-like-table-in-subquery", sql: "SELECT id FROM t WHERE EXISTS (WITH t AS (SELECT 1) SELECT 1 FROM t)", check: notShell},
	// A column reference qualified by schema and table name. PostgreSQL
	// rejects public.t.id once t is an alias ("invalid reference to
	// FROM-clause entry for table t").
	{name: "misc/schema-qualified-column", sql: "SELECT public.t.id FROM public.t WHERE public.t.id = 5"},
	// Statements that name objects of distributed tables without a
	// RangeVar go to every database as they are.
	{name: "misc/comment-on-distributed-table", sql: "COMMENT ON TABLE t IS 'x'"},
	{name: "misc/alter-index-of-distributed-table", sql: "ALTER INDEX t_name_idx RENAME TO t_title_idx"},
	// A multi-row INSERT whose rows read a reference table: each shard's
	// statement must name the reference table's shard.
	// A multi-row VALUES list is cut into rows by text; a table inside a
	// row would keep its logical name, so it is refused.
	{name: "insert/multi-row-reading-reference", sql: "INSERT INTO t (id, name) VALUES (1, 'a'), (2, (SELECT label FROM r WHERE rid = 1))", code: "0A000"},
	// Writes to a reference table that read a distributed table: every
	// node would read only its own part (or a shard it does not hold).
	{name: "modify/update-reference-from-distributed", sql: "UPDATE r SET label = t.name FROM t WHERE t.id = r.rid"},
	{name: "modify/update-from-other-distributed", sql: "UPDATE t SET name = x.w FROM m AS x WHERE x.k = t.id"},
	{name: "modify/delete-subquery-same-table", sql: "DELETE FROM t WHERE v > (SELECT avg(v) FROM t) RETURNING id"},
	{name: "error/update-reference-from-distributed-returning", sql: "UPDATE r SET label = t.name FROM t WHERE t.id = r.rid RETURNING rid", code: "0A000"},
	{name: "pull/insert-reference-select-distributed", sql: "INSERT INTO r (rid, label) SELECT id, name FROM t"},
	{name: "modify/delete-reference-using-distributed", sql: "DELETE FROM r WHERE rid IN (SELECT id FROM t)"},
}

// routeTargets checks that the plan is a Route over n targets.
func routeTargets(n int) func(*testing.T, *planner.Plan) {
	return func(t *testing.T, p *planner.Plan) {
		r, ok := p.Root.(*executor.Route)
		if !ok {
			t.Errorf("root is %T, want a Route", p.Root)
			return
		}
		if len(r.Targets) != n {
			t.Errorf("route has %d targets, want %d", len(r.Targets), n)
		}
		if (n > 1) != (r.Chooser != nil) {
			t.Errorf("route with %d targets has chooser %v", len(r.Targets), r.Chooser)
		}
	}
}

// workerSQL checks every statement sent to the nodes contains want and
// not notWant (empty strings are not checked).
func workerSQL(want, notWant string) func(*testing.T, *planner.Plan) {
	return func(t *testing.T, p *planner.Plan) {
		sqls := planSQL(p)
		if len(sqls) == 0 {
			t.Errorf("no worker SQL")
		}
		for _, s := range sqls {
			if want != "" && !strings.Contains(s, want) {
				t.Errorf("worker SQL %q does not contain %q", s, want)
			}
			if notWant != "" && strings.Contains(s, notWant) {
				t.Errorf("worker SQL %q contains %q", s, notWant)
			}
		}
	}
}

// all runs every check.
func all(checks ...func(*testing.T, *planner.Plan)) func(*testing.T, *planner.Plan) {
	return func(t *testing.T, p *planner.Plan) {
		for _, c := range checks {
			c(t, p)
		}
	}
}

// twoPhase checks that a query plan combines partial aggregates (and does
// not pull the tables to one node).
func twoPhase(t *testing.T, p *planner.Plan) {
	op := p.Root
	for {
		switch o := op.(type) {
		case *executor.Convert:
			op = o.Input
		case *executor.Limit:
			op = o.Input
		case *executor.Project:
			op = o.Input
		case *executor.Aggregate:
			return
		default:
			t.Errorf("plan root %T, want a two-phase aggregate", op)
			return
		}
	}
}

// notShell checks that the plan does not run on a shell database.
func notShell(t *testing.T, p *planner.Plan) {
	if r, ok := p.Root.(*executor.Route); ok && r.Targets[0].Database == "shell" {
		t.Errorf("planned on the shell database: %s", r.Targets[0].SQL)
	}
}

// planSQL collects the SQL a query plan sends to the nodes.
func planSQL(p *planner.Plan) []string {
	var out []string
	var visit func(op executor.Operator)
	visit = func(op executor.Operator) {
		switch o := op.(type) {
		case *executor.Route:
			for _, t := range o.Targets {
				out = append(out, t.SQL...)
			}
		case *executor.Gather:
			for _, t := range o.Targets {
				out = append(out, t.SQL...)
			}
		case *executor.MergeSort:
			visit(o.Input)
		case *executor.Limit:
			visit(o.Input)
		case *executor.Project:
			visit(o.Input)
		case *executor.Convert:
			visit(o.Input)
		case *executor.Aggregate:
			visit(o.Input)
		case *executor.InsertSplit:
			for i := range o.Prefix {
				var rows []string
				for _, r := range o.Rows {
					rows = append(rows, r.Text)
				}
				out = append(out, o.Prefix[i]+strings.Join(rows, ", ")+o.Suffix[i])
			}
		}
	}
	if p.Root != nil {
		visit(p.Root)
	}
	return out
}

func newEnv(snap *catalog.Snapshot, shell *fakeShell, defaultDist string) *planner.Env {
	return &planner.Env{
		Catalog:             snap,
		Shell:               shell,
		ShellDB:             "shell",
		ShardDB:             "shards",
		DefaultShardCount:   3,
		DefaultDistribution: defaultDist,
	}
}

// planOne cuts DISTRIBUTE BY, parses and plans sql as the coordinator does.
func planOne(env *planner.Env, sql string, params []uint32) (*planner.Plan, error) {
	text, clauses, err := planner.CutDistribute(sql)
	if err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(tree.Stmts) != 1 {
		return nil, fmt.Errorf("%d statements", len(tree.Stmts))
	}
	st := &planner.Statement{SQL: strings.TrimSpace(text), Node: tree.Stmts[0].Stmt, ParamOIDs: params}
	if len(clauses) > 0 {
		st.Distribute = &clauses[0]
	}
	return planner.Build(context.Background(), env, st)
}

type goldenCase struct {
	Name string   `json:"name"`
	SQL  string   `json:"sql"`
	Plan []string `json:"plan"`
}

func TestPlans(t *testing.T) {
	base := testCatalog(t)
	var got []goldenCase
	seen := map[string]bool{}
	for _, c := range planCases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		snap := base
		for _, cmd := range catalogVariants[c.variant] {
			var err error
			if snap, err = catalog.ApplyCommand(snap, cmd); err != nil {
				t.Fatalf("%s: variant: %v", c.name, err)
			}
		}
		shell := &fakeShell{values: map[string]string{`'"public"."t_name_idx"'`: "public\x1ft",
			"datlocprovider = 'c'": "t"}}
		for table, cols := range fakeTables {
			shell.values[tableColumnsQuery(table)] = strings.Join(cols, "\x1f")
		}
		shell.values[tableColumnsQuery("u")] = "uid\x1ftid"
		shell.values[tableColumnsQuery("w")] = "wid"
		env := newEnv(snap, shell, c.defaultDist)
		p, err := planOne(env, c.sql, c.params)
		lines := renderPlan(snap, p, err)
		// What the planner asked PostgreSQL, for plans only: the order of
		// checks before an error is not part of the contract.
		if err == nil && len(shell.calls) > 0 {
			lines = append(lines, "shell:")
			for _, call := range shell.calls {
				lines = append(lines, "  "+call)
			}
		}
		got = append(got, goldenCase{Name: c.name, SQL: c.sql, Plan: lines})

		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %s: unexpected error %v (%s)", c.name, c.sql, err, pgerr.Code(err))
		case c.code != "" && err == nil:
			t.Errorf("%s: %s: planned, want error %s", c.name, c.sql, c.code)
		case c.code != "" && pgerr.Code(err) != c.code:
			t.Errorf("%s: %s: error %q has SQLSTATE %q, want %s", c.name, c.sql, err, pgerr.Code(err), c.code)
		case err == nil && c.check != nil:
			t.Run(c.name, func(t *testing.T) { c.check(t, p) })
		}
		if err == nil {
			checkSQLParses(t, c.name, snap, p)
		}
	}

	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test ./planner -update to create it)", err)
	}
	var want []goldenCase
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	wantByName := map[string]goldenCase{}
	for _, w := range want {
		wantByName[w.Name] = w
	}
	for _, g := range got {
		w, ok := wantByName[g.Name]
		if !ok {
			t.Errorf("%s: not in %s (run go test ./planner -update)", g.Name, goldenFile)
			continue
		}
		delete(wantByName, g.Name)
		if w.SQL != g.SQL || strings.Join(w.Plan, "\n") != strings.Join(g.Plan, "\n") {
			t.Errorf("%s: plan differs from %s (run go test ./planner -update if intended)\n%s", g.Name, goldenFile, lineDiff(w.Plan, g.Plan))
		}
	}
	names := make([]string, 0, len(wantByName))
	for n := range wantByName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Errorf("%s: in %s but no longer a case (run go test ./planner -update)", n, goldenFile)
	}
}

// lineDiff shows the first differing lines of two renderings.
func lineDiff(want, got []string) string {
	var b strings.Builder
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n   got: %s\n", i+1, w, g)
		}
	}
	return b.String()
}

// checkSQLParses asserts that every statement the plan sends to a node is
// valid SQL (PostgreSQL's own parser, through pg_query).
func checkSQLParses(t *testing.T, name string, snap *catalog.Snapshot, p *planner.Plan) {
	t.Helper()
	sqls := planSQL(p)
	if p.DDL != nil {
		s := snap
		for _, c := range p.DDL.Before {
			if s != nil {
				s, _ = catalog.ApplyCommand(s, c)
			}
		}
		if p.DDL.Work != nil && s != nil {
			ts, _ := p.DDL.Work(s)
			for _, tg := range ts {
				sqls = append(sqls, tg.SQL...)
			}
		}
	}
	for _, s := range sqls {
		if _, err := pg_query.Parse(s); err != nil {
			t.Errorf("%s: the plan sends SQL that does not parse: %s: %v", name, s, err)
		}
	}
}

// renderPlan is the golden text of a plan or error.
func renderPlan(snap *catalog.Snapshot, p *planner.Plan, err error) []string {
	if err != nil {
		var pe *pgerr.Error
		if errors.As(err, &pe) {
			lines := []string{fmt.Sprintf("error %s: %s", pe.Code, pe.Message)}
			if pe.Hint != "" {
				lines = append(lines, "hint: "+pe.Hint)
			}
			if pe.Position != 0 {
				lines = append(lines, fmt.Sprintf("position: %d", pe.Position))
			}
			return lines
		}
		return []string{"error: " + err.Error()}
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if p.CatalogVersion != snap.SchemaVersion() {
		add("catalog version %d, want %d", p.CatalogVersion, snap.SchemaVersion())
	}
	switch p.Kind {
	case planner.KindQuery:
		add("query")
	case planner.KindDDL:
		add("ddl")
	default:
		add("kind %d", p.Kind)
	}
	if p.Tag != "" {
		add("tag: %s", p.Tag)
	}
	if len(p.ParamOIDs) > 0 {
		add("params: %v", p.ParamOIDs)
	}
	if len(p.Columns) > 0 {
		add("columns: %s", renderColumns(p.Columns))
	}
	if p.Root != nil {
		add("tree:")
		renderOp(&lines, p.Root, 1)
	}
	if d := p.DDL; d != nil {
		add("ddl tag: %s", d.Tag)
		for _, c := range d.Before {
			add("before: %s", renderCommand(c))
		}
		if d.Revert != nil {
			add("revert: %s", renderCommand(d.Revert))
		}
		for _, c := range d.After {
			add("after: %s", renderCommand(c))
		}
		work := snap
		for _, c := range d.Before {
			var err error
			if work, err = catalog.ApplyCommand(work, c); err != nil {
				add("applying before: %v", err)
				work = nil
				break
			}
		}
		if d.Work != nil && work != nil {
			ts, err := d.Work(work)
			if err != nil {
				add("work error: %v", err)
			}
			add("work:")
			renderTargets(&lines, ts)
		}
		if d.Undo != nil && work != nil {
			add("undo:")
			renderTargets(&lines, d.Undo(work))
		}
	}
	return lines
}

func renderColumns(cols []executor.Column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, fmt.Sprintf("%s:%d", c.Name, c.TypeOID))
	}
	return strings.Join(parts, ", ")
}

func renderCommand(c catalog.Command) string {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf("%s %v", c.Kind(), err)
	}
	return c.Kind() + " " + string(b)
}

func renderTargets(lines *[]string, ts []executor.Target) {
	for _, tg := range ts {
		for _, s := range tg.SQL {
			*lines = append(*lines, fmt.Sprintf("  %s/%s: %s", tg.Node.Name, tg.Database, s))
		}
	}
}

// renderOp renders an operator: its Explain entry (operator name and
// details) and, marked with "+", what Explain leaves out.
func renderOp(lines *[]string, op executor.Operator, depth int) {
	pad := strings.Repeat("  ", depth)
	add := func(format string, args ...any) { *lines = append(*lines, pad+fmt.Sprintf(format, args...)) }
	if c, ok := op.(*executor.Convert); ok {
		add("Convert")
		renderOp(lines, c.Input, depth+1)
		return
	}
	d := op.Explain()
	add("%s", d.Operator)
	for _, s := range d.Detail {
		add("  | %s", s)
	}
	switch o := op.(type) {
	case *executor.Route:
		add("  + text=%v database=%s", o.Text, o.Targets[0].Database)
		if o.Chooser != nil {
			for i, tg := range o.Targets {
				for _, s := range tg.SQL {
					add("  + [%d] %s/%s: %s", i, tg.Node.Name, tg.Database, s)
				}
			}
		}
	case *executor.Gather:
		add("  + text=%v replicated=%v verb=%q", o.Text, o.Replicated, o.Verb)
		for _, tg := range o.Targets {
			add("  + %s/%s: %d statement(s)", tg.Node.Name, tg.Database, len(tg.SQL))
		}
	case *executor.MergeSort:
		for _, k := range o.Keys {
			add("  + key type %d", k.TypeOID)
		}
		renderOp(lines, o.Input, depth+1)
	case *executor.Limit:
		renderOp(lines, o.Input, depth+1)
	case *executor.Project:
		add("  + columns: %s", renderColumns(o.Cols))
		renderOp(lines, o.Input, depth+1)
	case *executor.Aggregate:
		add("  + group cols %v, group types %v", o.GroupCols, o.GroupTypes)
		for _, a := range o.Aggs {
			add("  + agg %s col %d type %d", a.Kind, a.Col, a.Type)
			if l := a.List; l != nil {
				add("  +   list: elements=%v delim col=%v delim=%q array delim=%q json newline=%v", l.Elements, l.DelimCol, l.Delim, l.ArrayDelim, l.JSONNewline)
				for i, k := range l.Keys {
					add("  +   key %d type %d desc=%v nulls_first=%v value=%v", k.Col, k.TypeOID, k.Desc, k.NullsFirst, l.ValueKeys[i])
				}
			}
		}
		for _, out := range o.Output {
			if out.Group >= 0 {
				add("  + output: group %d", out.Group)
			} else {
				add("  + output: agg %d", out.Agg)
			}
		}
		for _, k := range o.Sort {
			add("  + sort: column %d type %d desc=%v nulls_first=%v", k.Col+1, k.TypeOID, k.Desc, k.NullsFirst)
		}
		renderOp(lines, o.Input, depth+1)
	case *executor.InsertSplit:
		for i := range o.Prefix {
			add("  + shard %d on %s/%s: %s<rows>%s", i, o.Nodes[i].Name, o.Database, o.Prefix[i], o.Suffix[i])
		}
		for _, r := range o.Rows {
			add("  + row %s -> %s", r.Text, r.Chooser)
		}
	case *executor.Broadcast:
		var names []string
		for _, n := range o.Nodes {
			names = append(names, n.Name)
		}
		add("  + plan's nodes: [%s]", strings.Join(names, " "))
		for i, it := range o.Tables {
			how := "ship"
			if p := it.Partition; p != nil {
				how = fmt.Sprintf("repartition by %s to %d shards", it.Names[p.Column], len(p.Nodes))
			}
			if it.Source != nil {
				add("  + ship %s (%s) typed %s, rows of:", o.Placeholders[i][0], strings.Join(it.Names, ", "), strings.Join(it.Types, ", "))
				renderOp(lines, it.Source, depth+1)
				continue
			}
			add("  + %s %s (%s): %s", how, strings.Join(o.Placeholders[i], ", "), strings.Join(it.Names, ", "), it.Sources[0].SQL[0])
		}
		renderOp(lines, o.Plan, depth+1)
		add("  + else:")
		renderOp(lines, o.Fallback, depth+1)
	case *executor.Append:
		for _, in := range o.Inputs {
			renderOp(lines, in, depth+1)
		}
	case *executor.Finish:
		add("  + groups as %s(%s) typed %s", o.Placeholder, strings.Join(o.Names, ", "), strings.Join(o.Types, ", "))
		renderOp(lines, o.Input, depth+1)
		add("  + else:")
		renderOp(lines, o.Fallback, depth+1)
	case *executor.Pull:
		for _, pt := range o.Tables {
			add("  + copy into %s: %s", pt.Temp, pt.Sources[0].SQL[0])
		}
	case *executor.Values:
		for _, r := range o.Rows {
			var vals []string
			for _, v := range r {
				vals = append(vals, string(v))
			}
			add("  + %s", strings.Join(vals, " | "))
		}
	default:
		for _, in := range d.Inputs {
			add("  + input %s", in.Operator)
		}
	}
}

// TestReferenceWritesReachEveryPlacement: a write to a reference table must
// run on every node holding a copy, and only there, whatever happened to the
// nodes since the table was created.
func TestReferenceWritesReachEveryPlacement(t *testing.T) {
	for _, variant := range []string{"", "n4-added", "n1-draining"} {
		snap := testCatalog(t)
		for _, cmd := range catalogVariants[variant] {
			var err error
			if snap, err = catalog.ApplyCommand(snap, cmd); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := snap.Table("public", "r")
		var want []string
		for _, id := range r.Shards[0].Placements {
			n, _ := snap.Node(id)
			want = append(want, n.Name)
		}
		for _, sql := range []string{"INSERT INTO r (rid, label) VALUES (1, 'x')", "UPDATE r SET label = 'y'", "DELETE FROM r"} {
			p, err := planOne(newEnv(snap, &fakeShell{}, ""), sql, nil)
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			g, ok := p.Root.(*executor.Gather)
			if !ok {
				t.Fatalf("%s: root %T, want Gather", sql, p.Root)
			}
			var got []string
			for _, tg := range g.Targets {
				got = append(got, tg.Node.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("catalog %q: %s runs on %v, but r is placed on %v", variant, sql, got, want)
			}
		}
	}
}

// TestReadsUsePlacements: a query on a reference table must go to a node
// that holds a copy of it.
func TestReadsUsePlacements(t *testing.T) {
	for _, variant := range []string{"", "n4-added", "n1-draining"} {
		snap := testCatalog(t)
		for _, cmd := range catalogVariants[variant] {
			var err error
			if snap, err = catalog.ApplyCommand(snap, cmd); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := snap.Table("public", "r")
		placed := map[string]bool{}
		for _, id := range r.Shards[0].Placements {
			n, _ := snap.Node(id)
			placed[n.Name] = true
		}
		p, err := planOne(newEnv(snap, &fakeShell{}, ""), "SELECT label FROM r", nil)
		if err != nil {
			t.Fatal(err)
		}
		route := p.Root.(*executor.Route)
		if n := route.Targets[0].Node.Name; !placed[n] {
			t.Errorf("catalog %q: SELECT on r runs on %s, which holds no copy of r", variant, n)
		}
	}
}

// pgHashInt4 is PostgreSQL 15's hashint4(x) (SELECT hashint4(x) over these
// values on a scratch server): the router must send "id = x" to the shard
// whose hash range holds it.
var pgHashInt4 = []struct {
	id   int64
	hash int32
}{
	{0, -272711505},
	{1, -1905060026},
	{2, 1134484726},
	{3, -28094569},
	{4, -1011077333},
	{5, -1330264708},
	{7, -978793473},
	{9, 1672378334},
	{-1, 385747274},
	{100, 108199381},
	{2147483647, -96758253},
	{-2147483648, -1524351049},
}

func TestRouterShardMatchesPostgresHash(t *testing.T) {
	snap := testCatalog(t)
	tbl, _ := snap.Table("public", "t")
	for _, c := range pgHashInt4 {
		want := ""
		for _, sh := range tbl.Shards {
			if sh.MinHash <= c.hash && c.hash <= sh.MaxHash {
				want = planner.ShardTableName(tbl, sh)
			}
		}
		for _, sql := range []string{
			fmt.Sprintf("SELECT name FROM t WHERE id = %d", c.id),
			fmt.Sprintf("INSERT INTO t (id, name) VALUES (%d, 'x')", c.id),
		} {
			p, err := planOne(newEnv(snap, &fakeShell{}, ""), sql, nil)
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			r, ok := p.Root.(*executor.Route)
			if !ok || len(r.Targets) != 1 {
				t.Fatalf("%s: not routed to one shard: %T", sql, p.Root)
			}
			if got := r.Targets[0].SQL[0]; !strings.Contains(got, `"`+want+`"`) {
				t.Errorf("%s (hashint4 %d): routed to %s, want shard %s", sql, c.hash, got, want)
			}
		}
	}
}

// tableColumnsQuery is the part of planner.TableColumns' query that names
// table (of schema public).
func tableColumnsQuery(table string) string {
	return `string_agg(attname, chr(31) ORDER BY attnum) FROM pg_catalog.pg_attribute WHERE attrelid = '"public"."` + table + `"'`
}
