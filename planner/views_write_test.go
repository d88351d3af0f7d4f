package planner

import (
	"testing"

	"github.com/distgres/distgres/pgerr"
)

// Views as pg_get_viewdef prints them (PostgreSQL 15) over the tables
// t(id, name, v) and r(rid, label).
var (
	// CREATE VIEW pos AS SELECT id FROM t WHERE id > 0
	viewPos = viewDef{name: "pos", def: "SELECT t.id FROM t WHERE (t.id > 0)", cols: []string{"id"}}
	// CREATE VIEW big (a, b) AS SELECT id, name FROM t WHERE v > 10
	viewBig = viewDef{name: "big", def: "SELECT t.id AS a, t.name AS b FROM t WHERE (t.v > (10)::numeric)", cols: []string{"a", "b"}}
	// CREATE VIEW big2 AS SELECT a AS k FROM big WHERE b <> 'q'
	viewBig2 = viewDef{name: "big2", def: "SELECT big.a AS k FROM big WHERE (big.b <> 'q'::text)", cols: []string{"k"}}
	// CREATE VIEW dbl AS SELECT id, v * 2 AS d FROM t
	viewDbl = viewDef{name: "dbl", def: "SELECT t.id, (t.v * (2)::numeric) AS d FROM t", cols: []string{"id", "d"}}
	// CREATE VIEW labels AS SELECT label AS l, rid FROM r
	viewLabels = viewDef{name: "labels", def: "SELECT r.label AS l, r.rid FROM r", cols: []string{"l", "rid"}}
	// CREATE VIEW sub AS SELECT id FROM t WHERE id IN (SELECT rid FROM r)
	viewSub = viewDef{name: "sub", def: "SELECT t.id FROM t WHERE (t.id IN ( SELECT r.rid FROM r))", cols: []string{"id"}}
)

func TestRewriteViewWrite(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		// views are the target views in the order the rewrite meets them
		// (a view on a view takes two steps).
		views     []viewDef
		returning []string
		want      string
		code      string // the SQLSTATE of the refusal, when the rewrite refuses
	}{
		{name: "delete with the view's condition", sql: "DELETE FROM pos WHERE id > 0", views: []viewDef{viewPos},
			want: "DELETE FROM t WHERE id > 0 AND id > 0"},
		{name: "update adds the view's condition", sql: "UPDATE pos SET id = 2", views: []viewDef{viewPos},
			want: "UPDATE t SET id = 2 WHERE id > 0"},
		{name: "update of renamed columns", sql: "UPDATE big SET b = upper(b) WHERE a = $1", views: []viewDef{viewBig},
			want: "UPDATE t SET name = upper(name) WHERE v > 10::numeric AND id = $1"},
		{name: "delete without a condition of its own", sql: "DELETE FROM big", views: []viewDef{viewBig},
			want: "DELETE FROM t WHERE v > 10::numeric"},
		{name: "view without WHERE", sql: "DELETE FROM labels WHERE l = 'x'", views: []viewDef{viewLabels},
			want: "DELETE FROM r WHERE label = 'x'"},
		{name: "insert without column list", sql: "INSERT INTO big VALUES (1, 'x'), (2, 'y')", views: []viewDef{viewBig},
			want: "INSERT INTO t (id, name) VALUES (1, 'x'), (2, 'y')"},
		{name: "insert of fewer values than columns", sql: "INSERT INTO big VALUES (1)", views: []viewDef{viewBig},
			want: "INSERT INTO t (id) VALUES (1)"},
		{name: "insert select without column list", sql: "INSERT INTO labels SELECT 'a', 1 UNION ALL SELECT 'b', 2", views: []viewDef{viewLabels},
			want: "INSERT INTO r (label, rid) SELECT 'a', 1 UNION ALL SELECT 'b', 2"},
		{name: "insert with column list", sql: "INSERT INTO big (b, a) VALUES ('x', 1) RETURNING a, b", views: []viewDef{viewBig},
			returning: []string{"a", "b"},
			want:      "INSERT INTO t (name, id) VALUES ('x', 1) RETURNING id AS a, name AS b"},
		{name: "insert does not add the view's condition", sql: "INSERT INTO pos VALUES (-1)", views: []viewDef{viewPos},
			want: "INSERT INTO t (id) VALUES (-1)"},
		{name: "returning star", sql: "DELETE FROM big WHERE a = 1 RETURNING *", views: []viewDef{viewBig},
			returning: []string{"a", "b"},
			want:      "DELETE FROM t WHERE v > 10::numeric AND id = 1 RETURNING id AS a, name AS b"},
		{name: "returning star of an unrenamed column", sql: "DELETE FROM pos RETURNING *", views: []viewDef{viewPos},
			returning: []string{"id"},
			want:      "DELETE FROM t WHERE id > 0 RETURNING id"},
		{name: "returning expressions keep their names", sql: "UPDATE big SET b = 'z' RETURNING a + 1, a::text, upper(b), (SELECT b) AS s, 7",
			views: []viewDef{viewBig}, returning: []string{"?column?", "a", "upper", "s", "?column?"},
			want: "UPDATE t SET name = 'z' WHERE v > 10::numeric RETURNING id + 1, id::text AS a, upper(name), (SELECT name) AS s, 7"},
		{name: "alias and qualified references", sql: "UPDATE big AS z SET b = 'y' WHERE z.a = 1 RETURNING z.b", views: []viewDef{viewBig},
			returning: []string{"b"},
			want:      "UPDATE t z SET name = 'y' WHERE z.v > 10::numeric AND z.id = 1 RETURNING z.name AS b"},
		{name: "qualified by the view's name", sql: "DELETE FROM big WHERE big.a = 1", views: []viewDef{viewBig},
			want: "DELETE FROM t big WHERE big.v > 10::numeric AND big.id = 1"},
		{name: "schema-qualified view", sql: "DELETE FROM public.big WHERE public.big.a = 1", views: []viewDef{viewBig},
			want: "DELETE FROM t big WHERE big.v > 10::numeric AND big.id = 1"},
		{name: "delete using another table", sql: "DELETE FROM big USING r WHERE a = r.rid AND label = 'x'", views: []viewDef{viewBig},
			want: "DELETE FROM t big USING r WHERE big.v > 10::numeric AND big.id = r.rid AND label = 'x'"},
		{name: "update from another table", sql: "UPDATE big SET b = r.label FROM r WHERE a = rid", views: []viewDef{viewBig},
			want: "UPDATE t big SET name = r.label FROM r WHERE big.v > 10::numeric AND big.id = rid"},
		{name: "expression columns are read through", sql: "DELETE FROM dbl WHERE d > 4 RETURNING d, id", views: []viewDef{viewDbl},
			returning: []string{"d", "id"},
			want:      "DELETE FROM t WHERE (v * 2::numeric) > 4 RETURNING v * 2::numeric AS d, id"},
		{name: "returning star with an expression column", sql: "UPDATE dbl SET id = 3 WHERE id = 2 RETURNING *", views: []viewDef{viewDbl},
			returning: []string{"id", "d"},
			want:      "UPDATE t SET id = 3 WHERE id = 2 RETURNING id, v * 2::numeric AS d"},
		{name: "subquery in the statement", sql: "DELETE FROM big WHERE a IN (SELECT rid FROM r)", views: []viewDef{viewBig},
			want: "DELETE FROM t WHERE v > 10::numeric AND id IN (SELECT rid FROM r)"},
		{name: "qualified reference in a subquery", sql: "DELETE FROM big WHERE EXISTS (SELECT 1 FROM r WHERE rid = big.a)", views: []viewDef{viewBig},
			want: "DELETE FROM t big WHERE big.v > 10::numeric AND EXISTS (SELECT 1 FROM r WHERE rid = big.id)"},
		{name: "unrenamed column in a subquery", sql: "DELETE FROM pos WHERE EXISTS (SELECT 1 FROM r WHERE rid = id)", views: []viewDef{viewPos},
			want: "DELETE FROM t WHERE id > 0 AND EXISTS (SELECT 1 FROM r WHERE rid = id)"},
		{name: "view with a subquery", sql: "DELETE FROM sub WHERE id = 1", views: []viewDef{viewSub},
			want: "DELETE FROM t sub WHERE sub.id IN (SELECT r.rid FROM r) AND sub.id = 1"},
		{name: "on conflict", sql: "INSERT INTO big (a, b) VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE big.b <> excluded.b",
			views: []viewDef{viewBig},
			want:  "INSERT INTO t AS big (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE big.name <> excluded.name"},
		{name: "view on a view", sql: "UPDATE big2 SET k = 5 WHERE k > 1 RETURNING k", views: []viewDef{viewBig2, viewBig},
			returning: []string{"k"},
			want:      "UPDATE t SET id = 5 WHERE v > 10::numeric AND name <> 'q'::text AND id > 1 RETURNING id AS k"},
		{name: "insert into a view on a view", sql: "INSERT INTO big2 VALUES (7) RETURNING *", views: []viewDef{viewBig2, viewBig},
			returning: []string{"k"},
			want:      "INSERT INTO t (id) VALUES (7) RETURNING id AS k"},

		{name: "aggregate view", sql: "DELETE FROM agg",
			views: []viewDef{{name: "agg", def: "SELECT count(*) AS n FROM t", cols: []string{"n"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "group by", sql: "DELETE FROM g",
			views: []viewDef{{name: "g", def: "SELECT t.name FROM t GROUP BY t.name", cols: []string{"name"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "distinct", sql: "UPDATE d SET id = 1",
			views: []viewDef{{name: "d", def: "SELECT DISTINCT t.id FROM t", cols: []string{"id"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "limit", sql: "DELETE FROM l",
			views: []viewDef{{name: "l", def: "SELECT t.id FROM t LIMIT 1", cols: []string{"id"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "union", sql: "DELETE FROM u",
			views: []viewDef{{name: "u", def: "SELECT t.id FROM t UNION SELECT r.rid FROM r", cols: []string{"id"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "join", sql: "DELETE FROM j",
			views: []viewDef{{name: "j", def: "SELECT t.id FROM t, r WHERE (t.id = r.rid)", cols: []string{"id"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "with", sql: "DELETE FROM w",
			views: []viewDef{{name: "w", def: "WITH x AS (SELECT t.id FROM t) SELECT x.id FROM x", cols: []string{"id"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "window function", sql: "DELETE FROM wf",
			views: []viewDef{{name: "wf", def: "SELECT t.id, row_number() OVER () AS n FROM t", cols: []string{"id", "n"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "set-returning function", sql: "DELETE FROM srf",
			views: []viewDef{{name: "srf", def: "SELECT t.id, generate_series(1, 2) AS g FROM t", cols: []string{"id", "g"}}}, code: pgerr.ObjectNotInPrerequisiteState},
		{name: "check option", sql: "INSERT INTO c VALUES (1)",
			views: []viewDef{{name: "c", def: viewPos.def, cols: viewPos.cols, checkOption: "cascaded"}}, code: pgerr.FeatureNotSupported},
		{name: "security barrier", sql: "DELETE FROM sb",
			views: []viewDef{{name: "sb", def: viewPos.def, cols: viewPos.cols, securityBarrier: true}}, code: pgerr.FeatureNotSupported},
		{name: "instead of trigger", sql: "DELETE FROM tg",
			views: []viewDef{{name: "tg", def: viewPos.def, cols: viewPos.cols, triggers: 1}}, code: pgerr.FeatureNotSupported},
		{name: "rule", sql: "DELETE FROM ru",
			views: []viewDef{{name: "ru", def: viewPos.def, cols: viewPos.cols, rules: 1}}, code: pgerr.FeatureNotSupported},
		{name: "column default", sql: "INSERT INTO de VALUES (1)",
			views: []viewDef{{name: "de", def: viewPos.def, cols: viewPos.cols, defaults: 1}}, code: pgerr.FeatureNotSupported},
		{name: "update of an expression column", sql: "UPDATE dbl SET d = 1", views: []viewDef{viewDbl}, code: pgerr.FeatureNotSupported},
		{name: "insert into an expression column", sql: "INSERT INTO dbl VALUES (1, 2)", views: []viewDef{viewDbl}, code: pgerr.FeatureNotSupported},
		{name: "too many values", sql: "INSERT INTO pos VALUES (2, 'unknown')", views: []viewDef{viewPos}, code: pgerr.SyntaxError},
		{name: "whole-row reference", sql: "DELETE FROM big WHERE big IS NOT NULL", views: []viewDef{viewBig}, code: pgerr.FeatureNotSupported},
		{name: "renamed column unqualified in a subquery", sql: "DELETE FROM big WHERE EXISTS (SELECT 1 FROM r WHERE rid = a)",
			views: []viewDef{viewBig}, code: pgerr.FeatureNotSupported},
		{name: "returning star with other items", sql: "DELETE FROM big USING r WHERE a = rid RETURNING *", views: []viewDef{viewBig},
			returning: []string{"a", "b", "rid", "label"}, code: pgerr.FeatureNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node, err := parseOne(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for i := range tc.views {
				if node, err = rewriteViewWrite(node, &tc.views[i], tc.returning, -1); err != nil {
					break
				}
				if got, err = deparse(node); err != nil {
					t.Fatal(err)
				}
				if node, err = parseOne(got); err != nil {
					t.Fatal(err)
				}
			}
			if tc.code != "" {
				if err == nil {
					t.Fatalf("rewrote to %s, want error %s", got, tc.code)
				}
				if c := pgerr.Code(err); c != tc.code {
					t.Fatalf("error %v (%s), want %s", err, c, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
