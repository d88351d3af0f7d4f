package planner

import "testing"

// TestDeparseArraySubscripts: statements the planner deparses keep
// subscripts of array constructors valid SQL.
func TestDeparseArraySubscripts(t *testing.T) {
	for _, sql := range []string{
		"SELECT (ARRAY['a', 'b'])[1 + i % 2] FROM generate_series(1, 3) i",
		"SELECT (ARRAY[[1, 2], [3, 4]])[1][2], (ARRAY[1, 2])[1:1]",
		"INSERT INTO t SELECT i, (ARRAY['x', 'y'])[1 + i % 2] FROM generate_series(1, 3) i",
		"UPDATE t SET v = (ARRAY[1, 2])[id % 2 + 1]",
	} {
		n, err := parseOne(sql)
		if err != nil {
			t.Fatal(err)
		}
		out, err := deparse(n)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if _, err := parseOne(out); err != nil {
			t.Errorf("%s: deparsed as %s: %v", sql, out, err)
		}
	}
}
