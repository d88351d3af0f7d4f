package main

import (
	"bytes"
	"testing"
)

// nodesResult is a fixed answer of distgres_nodes(), with an unreachable
// node.
func nodesResult() *result {
	return &result{
		columns: []string{"name", "host", "port", "state", "shards", "bytes", "reachable"},
		rows: [][]any{
			{"n1", "10.0.0.1", int32(5432), "active", int32(12), int64(12 << 20), true},
			{"n2", "::1", int32(6432), "draining", int32(3), int64(4404019), true},
			{"nœud3", "db3", int32(5432), "joining", int32(0), nil, false},
		},
	}
}

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name string
		res  *result
		want string
	}{
		{
			name: "nodes",
			res:  nodesResult(),
			want: "" +
				" name  | host     | port | state    | shards |  bytes | reachable\n" +
				"-------+----------+------+----------+--------+--------+-----------\n" +
				" n1    | 10.0.0.1 | 5432 | active   |     12 |  12 MB | t\n" +
				" n2    | ::1      | 6432 | draining |      3 | 4.2 MB | t\n" +
				" nœud3 | db3      | 5432 | joining  |      0 |        | f\n",
		},
		{
			name: "no rows",
			res:  &result{columns: []string{"id", "state"}},
			want: "" +
				" id | state\n" +
				"----+-------\n",
		},
		{
			name: "a column of NULLs and numbers is numeric",
			res: &result{
				columns: []string{"shard_id", "min_hash"},
				rows:    [][]any{{int64(1), nil}, {int64(100), int32(-7)}},
			},
			want: "" +
				" shard_id | min_hash\n" +
				"----------+----------\n" +
				"        1 |\n" +
				"      100 |       -7\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeTable(&b, tt.res); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
