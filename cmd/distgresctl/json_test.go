package main

import (
	"bytes"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "rows keep the column order, NULL is null, sizes are raw",
			v:    records(nodesResult()),
			want: `[
  {
    "name": "n1",
    "host": "10.0.0.1",
    "port": 5432,
    "state": "active",
    "shards": 12,
    "bytes": 12582912,
    "reachable": true
  },
  {
    "name": "n2",
    "host": "::1",
    "port": 6432,
    "state": "draining",
    "shards": 3,
    "bytes": 4404019,
    "reachable": true
  },
  {
    "name": "nœud3",
    "host": "db3",
    "port": 5432,
    "state": "joining",
    "shards": 0,
    "bytes": null,
    "reachable": false
  }
]
`,
		},
		{
			name: "no rows is an empty array",
			v:    records(&result{columns: []string{"id"}}),
			want: "[]\n",
		},
		{
			name: "a value",
			v:    map[string]any{"result": "node n1 <added>"},
			want: "{\n  \"result\": \"node n1 <added>\"\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeJSON(&b, tt.v); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
