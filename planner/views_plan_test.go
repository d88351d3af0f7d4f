package planner_test

import (
	"strings"
	"testing"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
)

// fakeViews answer the shell's questions about views: pg_get_viewdef, the
// column names, check option, security_barrier, and the counts of
// triggers, rules and column defaults.
var fakeViews = map[string]string{
	// CREATE VIEW big (a, b) AS SELECT id, name FROM t WHERE v > 10
	`to_regclass('"big"')`: "SELECT t.id AS a, t.name AS b FROM t WHERE (t.v > (10)::numeric);\x1fa\x1eb\x1f\x1ffalse\x1f0\x1f0\x1f0",
	// CREATE VIEW labels (l, k) AS SELECT label, rid FROM r
	`to_regclass('"labels"')`: "SELECT r.label AS l, r.rid AS k FROM r;\x1fl\x1ek\x1f\x1ffalse\x1f0\x1f0\x1f0",
	// CREATE VIEW big_a AS SELECT a FROM big WHERE b = 'a'
	`to_regclass('"big_a"')`: "SELECT big.a FROM big WHERE (big.b = 'a'::text);\x1fa\x1f\x1ffalse\x1f0\x1f0\x1f0",
	// CREATE VIEW checked AS SELECT id FROM t WHERE id > 0 WITH CHECK OPTION
	`to_regclass('"checked"')`: "SELECT t.id FROM t WHERE (t.id > 0);\x1fid\x1fcascaded\x1ffalse\x1f0\x1f0\x1f0",
}

// TestWritesThroughViews plans writes through views: they become writes
// of the view's table, routed like any other.
func TestWritesThroughViews(t *testing.T) {
	snap := testCatalog(t)
	tests := []struct {
		sql     string
		targets int    // statements sent to the nodes
		want    string // in every statement sent
		cols    string // the result columns
		code    string // the SQLSTATE of a refusal
	}{
		{sql: "DELETE FROM big WHERE a = 1", targets: 1, want: "WHERE v > 10::numeric AND id = 1"},
		{sql: "DELETE FROM big", targets: 4, want: "WHERE v > 10::numeric"},
		{sql: "UPDATE big SET b = 'x' WHERE a = $1 RETURNING a, b", targets: 4, want: "SET name = 'x' WHERE v > 10::numeric AND id = $1 RETURNING id AS a, name AS b", cols: "a b"},
		{sql: "INSERT INTO big VALUES (5, 'e')", targets: 1, want: "(id, name) VALUES (5, 'e')"},
		{sql: "UPDATE labels SET l = 'z' WHERE k = 2", targets: 3, want: "SET label = 'z' WHERE rid = 2"},
		{sql: "INSERT INTO labels VALUES ('x', 1) RETURNING *", targets: 3, want: "(label, rid) VALUES ('x', 1) RETURNING label AS l, rid AS k", cols: "l k"},
		{sql: "DELETE FROM big_a WHERE a = 3", targets: 1, want: "WHERE v > 10::numeric AND name = 'a'::text AND id = 3"},
		{sql: "INSERT INTO checked VALUES (1)", code: pgerr.FeatureNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			p, err := planOne(newEnv(snap, &fakeShell{values: fakeViews}, ""), tc.sql, nil)
			if tc.code != "" {
				if c := pgerr.Code(err); c != tc.code {
					t.Fatalf("error %v (%s), want %s", err, c, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sqls := planSQL(p)
			if len(sqls) != tc.targets {
				t.Errorf("%d statements sent, want %d: %q", len(sqls), tc.targets, sqls)
			}
			for _, s := range sqls {
				if !strings.Contains(s, tc.want) {
					t.Errorf("%q does not contain %q", s, tc.want)
				}
				if strings.Contains(s, "shell") {
					t.Errorf("%q went to the shell database", s)
				}
			}
			var cols []string
			for _, c := range p.Columns {
				cols = append(cols, c.Name)
			}
			if got := strings.Join(cols, " "); got != tc.cols {
				t.Errorf("columns %q, want %q", got, tc.cols)
			}
			if r, ok := p.Root.(*executor.Route); ok && r.Targets[0].Database == "shell" {
				t.Errorf("planned on the shell database")
			}
		})
	}
}
