package coordinator

import (
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		query  string
		ok     bool
		text   string
		values []string
		oids   []uint32
	}{
		{"SELECT abalance FROM pgbench_accounts WHERE aid = 4242;", true, "SELECT abalance FROM pgbench_accounts WHERE aid = $1;", []string{"4242"}, []uint32{23}},
		{"SELECT * FROM t WHERE name = 'it''s' AND v > 1.5", true, "SELECT * FROM t WHERE name = $1 AND v > $2", []string{"it's", "1.5"}, []uint32{0, 1700}},
		{"SELECT -2147483648", true, "SELECT $1", []string{"-2147483648"}, []uint32{23}},
		{"SELECT 2147483648", true, "SELECT $1", []string{"2147483648"}, []uint32{20}},
		{"SELECT -9223372036854775808", true, "SELECT $1", []string{"-9223372036854775808"}, []uint32{20}},
		{"SELECT 9223372036854775808", true, "SELECT $1", []string{"9223372036854775808"}, []uint32{1700}},
		{"SELECT a - 1 FROM t", true, "SELECT a - $1 FROM t", []string{"1"}, []uint32{23}},
		{"SELECT (- 5) FROM t", true, "SELECT ($1) FROM t", []string{"-5"}, []uint32{23}},
		{"SELECT a, b FROM t ORDER BY 2 DESC, 1 LIMIT 10", true, "SELECT a, b FROM t ORDER BY 2 DESC, 1 LIMIT $1", []string{"10"}, []uint32{23}},
		{"SELECT a FROM t GROUP BY 1", false, "", nil, nil},
		// A comment does not hide a position or make a minus a sign.
		{"SELECT a, b FROM t WHERE a = 7 ORDER BY 2 /* by b */, 1 -- then a\n", true, "SELECT a, b FROM t WHERE a = $1 ORDER BY 2 /* by b */, 1 -- then a\n", []string{"7"}, []uint32{23}},
		{"SELECT a /* a */ -1 FROM t", true, "SELECT a /* a */ -$1 FROM t", []string{"1"}, []uint32{23}},
		{"SELECT $$x$$ FROM t", true, "SELECT $1 FROM t", []string{"x"}, []uint32{0}},
		{"SELECT 1; SELECT 2", false, "", nil, nil},
		{"SELECT E'\\n'", false, "", nil, nil},
		{"SELECT x'ff'", false, "", nil, nil},
		{"CREATE TABLE t (a varchar(10))", false, "", nil, nil},
		{"SELECT * FROM t WHERE a = $1", false, "", nil, nil},
		{"SELECT * FROM t", false, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			n, ok := normalize(tt.query)
			if ok != tt.ok {
				t.Fatalf("normalize ok = %v, want %v (%q)", ok, tt.ok, n.text)
			}
			if !ok {
				return
			}
			var vals []string
			for _, v := range n.values {
				vals = append(vals, string(v))
			}
			if n.text != tt.text || !reflect.DeepEqual(vals, tt.values) || !reflect.DeepEqual(n.oids, tt.oids) {
				t.Errorf("normalize = %q %q %v, want %q %q %v", n.text, vals, n.oids, tt.text, tt.values, tt.oids)
			}
		})
	}
}

func TestLogicalNames(t *testing.T) {
	tests := map[string]string{
		`duplicate key value violates unique constraint "accounts_102010_pkey"`: `duplicate key value violates unique constraint "accounts_pkey"`,
		"accounts_102010":              "accounts",
		`relation "public.t_102999" x`: `relation "public.t" x`,
		"my_idx_1020111":               "my_idx",
		"plain message 42":             "plain message 42",
		"":                             "",
	}
	for in, want := range tests {
		if got := logicalNames(in); got != want {
			t.Errorf("logicalNames(%q) = %q, want %q", in, got, want)
		}
	}
}
