package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleSnapshot returns a catalog with every kind of object in it.
func sampleSnapshot(t testing.TB) *Snapshot {
	t.Helper()
	return mustApply(t, withNodes(t, 3),
		SetNodeState{Name: "dn3", State: NodeDraining},
		hashTable("orders", OIDInt8, 8),
		hashTable("customers", OIDInt8, 8),
		CreateTable{Schema: "app", Name: "events", Method: MethodModulo, DistColumn: "k", DistType: OIDInt4, ShardCount: 3},
		CreateTable{Schema: "app", Name: "log", Method: MethodRoundRobin, ShardCount: 2},
		CreateTable{Schema: "public", Name: "countries", Method: MethodReplication},
	)
}

func TestSnapshotImmutable(t *testing.T) {
	tests := []Command{
		AddNode{Name: "dn9", Host: "h9", Port: 5432},
		RemoveNode{Name: "dn3"},
		SetNodeState{Name: "dn1", State: NodeDraining},
		hashTable("new", OIDInt8, 8),
		DropTable{Schema: "public", Name: "orders"},
		RenameTable{Schema: "public", Name: "orders", NewName: "aaa"},
		RenameColumn{Schema: "public", Table: "orders", Column: "id", NewName: "oid"},
		SetPlacement{ShardID: FirstShardID, Nodes: []NodeID{2, 3}},
	}
	for _, cmd := range tests {
		t.Run(cmd.Kind(), func(t *testing.T) {
			old := sampleSnapshot(t)
			before, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			oldOrders := mustTable(t, old, "public", "orders")
			next := mustApply(t, old, cmd)
			after, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("applying %s changed the old snapshot:\nbefore %s\nafter  %s", cmd.Kind(), before, after)
			}
			if got := mustTable(t, old, "public", "orders"); got != oldOrders {
				t.Errorf("old snapshot's table pointer changed")
			}
			if next.Version() != old.Version()+1 {
				t.Errorf("Version() = %d, want %d", next.Version(), old.Version()+1)
			}
		})
	}
}

func TestSnapshotAccessorsReturnCopies(t *testing.T) {
	s := sampleSnapshot(t)
	nodes := s.Nodes()
	nodes[0].Name = "changed"
	tables := s.Tables()
	tables[0] = nil
	if n, _ := s.Node(1); n.Name != "dn1" {
		t.Errorf("changing Nodes() result changed the snapshot")
	}
	if s.Tables()[0] == nil {
		t.Errorf("changing Tables() result changed the snapshot")
	}
}

func TestSnapshotTablesSorted(t *testing.T) {
	s := sampleSnapshot(t)
	var names []string
	for _, tbl := range s.Tables() {
		names = append(names, tbl.QualifiedName())
	}
	want := []string{"app.events", "app.log", "public.countries", "public.customers", "public.orders"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Tables() = %v, want %v", names, want)
	}
}

func TestSnapshotJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		snap *Snapshot
	}{
		{"empty", NewSnapshot()},
		{"sample", sampleSnapshot(t)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.snap)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got := new(Snapshot)
			if err := json.Unmarshal(data, got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", data, err)
			}
			if !reflect.DeepEqual(got, tc.snap) {
				t.Errorf("round trip differs:\n got %#v\nwant %#v", got, tc.snap)
			}
			// The counters survive: both continue identically.
			cmds := []Command{
				AddNode{Name: "dnx", Host: "hx", Port: 1},
				hashTable("later", OIDInt4, 3),
			}
			a, b := mustApply(t, tc.snap, cmds...), mustApply(t, got, cmds...)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("decoded snapshot continues differently")
			}
		})
	}
}

func TestSnapshotJSONInvalid(t *testing.T) {
	good, err := json.Marshal(sampleSnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		data    string // used instead of an edit of the sample
		wantErr error
	}{
		{name: "not json", data: `{"format":1,`},
		{name: "null table", data: `{"format":1,"tables":[null]}`},
		{name: "unknown format", edit: func(m map[string]any) { m["format"] = 2 }, wantErr: ErrSnapshotFormat},
		{name: "missing format", edit: func(m map[string]any) { delete(m, "format") }, wantErr: ErrSnapshotFormat},
		{name: "unknown field", edit: func(m map[string]any) { m["extra"] = true }},
		{name: "node id counter", edit: func(m map[string]any) { m["next_node_id"] = 2 }},
		{name: "shard id counter", edit: func(m map[string]any) { m["next_shard_id"] = FirstShardID + 3 }},
		{name: "colocation counter", edit: func(m map[string]any) { m["next_colocation_id"] = 1 }},
		{name: "duplicate node", edit: func(m map[string]any) {
			nodes := m["nodes"].([]any)
			m["nodes"] = append(nodes, nodes[0])
		}},
		{name: "duplicate table", edit: func(m map[string]any) {
			tables := m["tables"].([]any)
			m["tables"] = append(tables, tables[0])
		}},
		{name: "placement on unknown node", edit: func(m map[string]any) {
			shard0(m)["placements"] = []any{42}
		}, wantErr: ErrNoSuchNode},
		{name: "hash ranges with a gap", edit: func(m map[string]any) {
			shard0(m)["max_hash"] = -2147483000
		}},
		{name: "no placements", edit: func(m map[string]any) {
			shard0(m)["placements"] = []any{}
		}},
		{name: "bad method", edit: func(m map[string]any) {
			m["tables"].([]any)[0].(map[string]any)["method"] = "range"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			if tc.edit != nil {
				var m map[string]any
				if err := json.Unmarshal(good, &m); err != nil {
					t.Fatal(err)
				}
				tc.edit(m)
				if data, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			s := new(Snapshot)
			err := json.Unmarshal(data, s)
			if err == nil {
				t.Fatalf("Unmarshal(%s) succeeded", data)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if s.Version() != 0 || len(s.Tables()) != 0 {
				t.Errorf("failed Unmarshal changed the snapshot")
			}
		})
	}
}

// shard0 returns the first shard of the first hash table in m.
func shard0(m map[string]any) map[string]any {
	for _, tbl := range m["tables"].([]any) {
		tm := tbl.(map[string]any)
		if tm["method"] == string(MethodHash) {
			return tm["shards"].([]any)[0].(map[string]any)
		}
	}
	panic("no hash table in sample")
}

func TestSnapshotJSONHasFormat(t *testing.T) {
	data, err := json.Marshal(NewSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"format":1`) || !strings.Contains(string(data), `"nodes":[]`) {
		t.Errorf("Marshal(empty) = %s", data)
	}
}
