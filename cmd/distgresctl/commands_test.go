package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// planResult is a fixed answer of distgres_rebalance_plan().
func planResult(sizes ...any) *result {
	res := &result{columns: []string{"move_order", "shard_id", "tables", "source", "target", "bytes"}}
	for i, size := range sizes {
		res.rows = append(res.rows, []any{int32(i + 1), int64(102008 + i), "public.orders, public.items", "n1", "n3", size})
	}
	return res
}

// TestCommands runs each command on a fake coordinator and checks the
// SQL it sends and what it prints.
func TestCommands(t *testing.T) {
	planSQL := "SELECT move_order, shard_id, tables, source, target, bytes FROM distgres_rebalance_plan('shard-count') ORDER BY move_order"
	tests := []struct {
		args    []string
		answers map[string]*result
		sent    []string // defaults to the keys of answers, for one query
		want    string
	}{
		{
			args:    []string{"node", "add", "n4", "[::1]:5432"},
			answers: map[string]*result{"SELECT distgres_node_add('n4', '::1', 5432)": one([]string{"distgres_node_add"}, "node n4 added: 0 shards")},
			want:    "node n4 added: 0 shards\n",
		},
		{
			args:    []string{"node", "add", "n4", "10.0.0.4:5432", "--json"},
			answers: map[string]*result{"SELECT distgres_node_add('n4', '10.0.0.4', 5432)": one([]string{"distgres_node_add"}, "node n4 added")},
			want:    "{\n  \"result\": \"node n4 added\"\n}\n",
		},
		{
			args:    []string{"node", "list"},
			answers: map[string]*result{nodeListSQL: nodesResult()},
			want: "" +
				" name  | host     | port | state    | shards |  bytes | reachable\n" +
				"-------+----------+------+----------+--------+--------+-----------\n" +
				" n1    | 10.0.0.1 | 5432 | active   |     12 |  12 MB | t\n" +
				" n2    | ::1      | 6432 | draining |      3 | 4.2 MB | t\n" +
				" nœud3 | db3      | 5432 | joining  |      0 |        | f\n",
		},
		{
			args:    []string{"node", "drain", "n2"},
			answers: map[string]*result{"SELECT distgres_node_drain('n2')": one([]string{"distgres_node_drain"}, int32(3))},
			want:    "node n2 drained: 3 shard groups moved\n",
		},
		{
			args:    []string{"node", "drain", "n%d"},
			answers: map[string]*result{"SELECT distgres_node_drain('n%d')": one([]string{"distgres_node_drain"}, int64(1))},
			want:    "node n%d drained: 1 shard groups moved\n",
		},
		{
			args:    []string{"node", "drain", "n2"},
			answers: map[string]*result{"SELECT distgres_node_drain('n2')": one([]string{"distgres_node_drain"}, "moved 3 shard groups off data node n2")},
			want:    "moved 3 shard groups off data node n2\n",
		},
		{
			args:    []string{"--json", "node", "drain", "n2"},
			answers: map[string]*result{"SELECT distgres_node_drain('n2')": one([]string{"distgres_node_drain"}, int32(3))},
			want:    "{\n  \"result\": 3\n}\n",
		},
		{
			args:    []string{"node", "remove", "n2"},
			answers: map[string]*result{"SELECT distgres_node_remove('n2')": one([]string{"distgres_node_remove"}, "node n2 removed")},
			want:    "node n2 removed\n",
		},
		{
			args:    []string{"node", "activate", "n2"},
			answers: map[string]*result{"SELECT distgres_node_activate('n2')": one([]string{"distgres_node_activate"}, "node n2 is active")},
			want:    "node n2 is active\n",
		},
		{
			args: []string{"shard", "list", "--table", "public.t", "--json"},
			answers: map[string]*result{
				"SELECT shard_id, table_name, shard_index, colocation_id, min_hash, max_hash, nodes, bytes FROM distgres_shards() WHERE table_name = 'public.t' ORDER BY table_name, shard_index": {
					columns: []string{"shard_id", "table_name", "shard_index", "colocation_id", "min_hash", "max_hash", "nodes", "bytes"},
					rows:    [][]any{{int64(102008), "public.t", int32(0), int64(1), nil, nil, "n1,n2", nil}},
				},
			},
			want: `[
  {
    "shard_id": 102008,
    "table_name": "public.t",
    "shard_index": 0,
    "colocation_id": 1,
    "min_hash": null,
    "max_hash": null,
    "nodes": "n1,n2",
    "bytes": null
  }
]
`,
		},
		{
			args:    []string{"shard", "move", "102008", "--to", "n3"},
			answers: map[string]*result{"SELECT distgres_move_shard(102008, 'n3')": one([]string{"distgres_move_shard"}, "moved shard group of 102008 from n1 to n3")},
			want:    "moved shard group of 102008 from n1 to n3\n",
		},
		{
			args:    []string{"rebalance", "--dry-run"},
			answers: map[string]*result{planSQL: planResult(int64(12<<20), nil)},
			want: "" +
				" move_order | shard_id | tables                      | source | target | bytes\n" +
				"------------+----------+-----------------------------+--------+--------+-------\n" +
				"          1 |   102008 | public.orders, public.items | n1     | n3     | 12 MB\n" +
				"          2 |   102009 | public.orders, public.items | n1     | n3     |\n",
		},
		{
			args:    []string{"rebalance", "--dry-run"},
			answers: map[string]*result{planSQL: planResult()},
			want:    "cluster is balanced\n",
		},
		{
			args:    []string{"rebalance", "--dry-run", "--json"},
			answers: map[string]*result{planSQL: planResult()},
			want:    "[]\n",
		},
		{
			args:    []string{"rebalance"},
			answers: map[string]*result{planSQL: planResult()},
			want:    "cluster is balanced\n",
		},
		{
			args: []string{"rebalance", "--strategy", "size", "--max-parallel", "2"},
			answers: map[string]*result{
				"SELECT move_order, shard_id, tables, source, target, bytes FROM distgres_rebalance_plan('size') ORDER BY move_order": planResult(int64(1024)),
				"SELECT distgres_rebalance('size', 2)": one([]string{"distgres_rebalance"}, int32(1)),
			},
			sent: []string{
				"SELECT move_order, shard_id, tables, source, target, bytes FROM distgres_rebalance_plan('size') ORDER BY move_order",
				"SELECT distgres_rebalance('size', 2)",
			},
			want: "" +
				" move_order | shard_id | tables                      | source | target |  bytes\n" +
				"------------+----------+-----------------------------+--------+--------+--------\n" +
				"          1 |   102008 | public.orders, public.items | n1     | n3     | 1.0 kB\n" +
				"1 shard groups moved\n",
		},
		{
			args: []string{"rebalance"},
			answers: map[string]*result{
				planSQL: planResult(nil),
				"SELECT distgres_rebalance('shard-count', 1)": one([]string{"distgres_rebalance"}, "moved 1 shard groups"),
			},
			sent: []string{planSQL, "SELECT distgres_rebalance('shard-count', 1)"},
			want: "" +
				" move_order | shard_id | tables                      | source | target | bytes\n" +
				"------------+----------+-----------------------------+--------+--------+-------\n" +
				"          1 |   102008 | public.orders, public.items | n1     | n3     |\n" +
				"moved 1 shard groups\n",
		},
		{
			args: []string{"rebalance", "--json"},
			answers: map[string]*result{
				planSQL: planResult(nil),
				"SELECT distgres_rebalance('shard-count', 1)": one([]string{"distgres_rebalance"}, int32(1)),
			},
			sent: []string{planSQL, "SELECT distgres_rebalance('shard-count', 1)"},
			want: `{
  "plan": [
    {
      "move_order": 1,
      "shard_id": 102008,
      "tables": "public.orders, public.items",
      "source": "n1",
      "target": "n3",
      "bytes": null
    }
  ],
  "result": 1
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			inv, err := parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			db := &fakeDB{answers: tt.answers}
			var out bytes.Buffer
			s := &session{db: db, out: &out, json: inv.opts.json}
			if err := inv.act.run(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			sent := tt.sent
			if sent == nil {
				for sql := range tt.answers {
					sent = append(sent, sql)
				}
			}
			if !slices.Equal(db.sent, sent) {
				t.Errorf("sent\n%q\nwant\n%q", db.sent, sent)
			}
			if out.String() != tt.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func statusAnswers(moves *result) map[string]*result {
	return map[string]*result{
		clusterSQL: {
			columns: []string{"member", "raft_address", "client_address", "voter", "is_leader"},
			rows: [][]any{
				{"coord1", "127.0.0.1:35085", "127.0.0.1:5432", true, true},
				{"coord2", "127.0.0.1:45423", nil, true, false},
			},
		},
		nodeListSQL: {
			columns: []string{"name", "host", "port", "state", "shards", "bytes", "reachable"},
			rows:    [][]any{{"n1", "10.0.0.1", int32(5432), "active", int32(12), int64(12 << 20), true}},
		},
		movesSQL: moves,
	}
}

func TestStatus(t *testing.T) {
	movesColumns := []string{"id", "shards", "source", "target", "state", "bytes_total", "bytes_done"}
	tests := []struct {
		name  string
		json  bool
		moves *result
		want  string
	}{
		{
			name:  "no moves",
			moves: &result{columns: movesColumns},
			want: `Coordinators
 member | raft_address    | client_address | voter | is_leader
--------+-----------------+----------------+-------+-----------
 coord1 | 127.0.0.1:35085 | 127.0.0.1:5432 | t     | t
 coord2 | 127.0.0.1:45423 |                | t     | f

Nodes
 name | host     | port | state  | shards | bytes | reachable
------+----------+------+--------+--------+-------+-----------
 n1   | 10.0.0.1 | 5432 | active |     12 | 12 MB | t

Moves in progress
none
`,
		},
		{
			name: "a move",
			moves: &result{columns: movesColumns, rows: [][]any{
				{"m7", "102008,102040", "n1", "n3", "copying", int64(300 << 20), int64(120 << 20)},
			}},
			want: `Coordinators
 member | raft_address    | client_address | voter | is_leader
--------+-----------------+----------------+-------+-----------
 coord1 | 127.0.0.1:35085 | 127.0.0.1:5432 | t     | t
 coord2 | 127.0.0.1:45423 |                | t     | f

Nodes
 name | host     | port | state  | shards | bytes | reachable
------+----------+------+--------+--------+-------+-----------
 n1   | 10.0.0.1 | 5432 | active |     12 | 12 MB | t

Moves in progress
 id | shards        | source | target | state   | bytes_total | bytes_done
----+---------------+--------+--------+---------+-------------+------------
 m7 | 102008,102040 | n1     | n3     | copying |      300 MB |     120 MB
`,
		},
		{
			name:  "json",
			json:  true,
			moves: &result{columns: movesColumns},
			want: `{
  "coordinators": [
    {
      "member": "coord1",
      "raft_address": "127.0.0.1:35085",
      "client_address": "127.0.0.1:5432",
      "voter": true,
      "is_leader": true
    },
    {
      "member": "coord2",
      "raft_address": "127.0.0.1:45423",
      "client_address": null,
      "voter": true,
      "is_leader": false
    }
  ],
  "nodes": [
    {
      "name": "n1",
      "host": "10.0.0.1",
      "port": 5432,
      "state": "active",
      "shards": 12,
      "bytes": 12582912,
      "reachable": true
    }
  ],
  "moves": []
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &fakeDB{answers: statusAnswers(tt.moves)}
			var out bytes.Buffer
			if err := (status{}).run(context.Background(), &session{db: db, out: &out, json: tt.json}); err != nil {
				t.Fatal(err)
			}
			if want := []string{clusterSQL, nodeListSQL, movesSQL}; !slices.Equal(db.sent, want) {
				t.Errorf("sent %q, want %q", db.sent, want)
			}
			if out.String() != tt.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}
