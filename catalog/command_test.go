package catalog

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func allCommands() []Command {
	return []Command{
		AddNode{Name: "dn1", Host: "10.0.0.1", Port: 5432},
		RemoveNode{Name: "dn1"},
		SetNodeState{Name: "dn1", State: NodeDraining},
		CreateTable{Schema: "public", Name: "orders", Method: MethodHash, DistColumn: "id",
			DistType: OIDInt8, ShardCount: 16, ColocateWith: "public.customers"},
		CreateTable{Schema: "public", Name: "countries", Method: MethodReplication},
		DropTable{Schema: "public", Name: "orders"},
		RenameTable{Schema: "public", Name: "orders", NewName: "orders_old"},
		RenameColumn{Schema: "public", Table: "orders", Column: "id", NewName: "order_id"},
		SetPlacement{ShardID: 102010, Nodes: []NodeID{3, 1}},
		UpdateNode{Name: "dn1", Host: "127.0.0.1", Port: 6543},
		SetCoordinator{ID: "coord1", RaftAddr: "127.0.0.1:7000", ClientAddr: "127.0.0.1:5432", Incarnation: "ab"},
		RemoveCoordinator{ID: "coord2"},
		BeginTx{Tx: GlobalTx{ID: "0a", Coordinator: "coord1", Incarnation: "ab", StartedMillis: 1, State: TxPending,
			OnCommit: []json.RawMessage{json.RawMessage(`{"kind":"drop_table","version":1,"body":{"schema":"s","name":"t"}}`)}}},
		DecideTx{ID: "0a", Commit: true, Participants: []Participant{{Node: 1, Database: "postgres"}}},
		ForgetTx{IDs: []string{"0a", "0b"}},
		CreateSequence{Schema: "public", Name: "orders_id_seq", Start: 1, Increment: 1, Min: 1, Max: 9, OwnerTable: "orders", OwnerColumn: "id", Always: true},
		DropSequence{Schema: "public", Name: "orders_id_seq"},
		AllocateSequence{Schema: "public", Name: "orders_id_seq", From: 1001, Count: 1000},
		SetSequence{Schema: "public", Name: "orders_id_seq", Next: 7},
		BeginMove{ID: "0c", Coordinator: "coord1", Incarnation: "ab", StartedMillis: 2, Shards: []int64{102008, 102040}, Source: 1, Target: 2},
		FreezeMove{ID: "0c", Frozen: true},
		FinishMove{ID: "0c", Commit: true},
		ForgetMove{ID: "0c"},
		ReplicateTable{Schema: "public", Name: "orders", Nodes: []NodeID{1, 2}},
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, cmd := range allCommands() {
		t.Run(cmd.Kind(), func(t *testing.T) {
			data, err := EncodeCommand(cmd)
			if err != nil {
				t.Fatalf("EncodeCommand: %v", err)
			}
			got, err := DecodeCommand(data)
			if err != nil {
				t.Fatalf("DecodeCommand(%s): %v", data, err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Errorf("round trip of %s = %#v, want %#v", data, got, cmd)
			}
		})
	}
}

func TestCommandEnvelope(t *testing.T) {
	data, err := EncodeCommand(&DropTable{Schema: "s", Name: "t"})
	if err != nil {
		t.Fatalf("EncodeCommand: %v", err)
	}
	const want = `{"kind":"drop_table","version":1,"body":{"schema":"s","name":"t"}}`
	if string(data) != want {
		t.Errorf("EncodeCommand = %s, want %s", data, want)
	}
	got, err := DecodeCommand(data)
	if err != nil {
		t.Fatalf("DecodeCommand: %v", err)
	}
	if _, ok := got.(DropTable); !ok {
		t.Errorf("DecodeCommand returned %T, want DropTable", got)
	}
}

func TestEncodeCommandRejectsNil(t *testing.T) {
	tests := []Command{nil, (*AddNode)(nil)}
	for _, cmd := range tests {
		if _, err := EncodeCommand(cmd); !errors.Is(err, ErrUnknownCommand) {
			t.Errorf("EncodeCommand(%#v) error = %v, want ErrUnknownCommand", cmd, err)
		}
	}
}

func TestDecodeCommandErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		unknown bool // want ErrUnknownCommand
	}{
		{"empty", ``, false},
		{"not json", `add_node`, false},
		{"empty object", `{}`, true},
		{"unknown kind", `{"kind":"drop_node","version":1,"body":{}}`, true},
		{"future version", `{"kind":"add_node","version":2,"body":{"name":"a"}}`, true},
		{"version zero", `{"kind":"add_node","version":0,"body":{"name":"a"}}`, true},
		{"missing body", `{"kind":"add_node","version":1}`, false},
		{"null body", `{"kind":"add_node","version":1,"body":null}`, false},
		{"array body", `{"kind":"add_node","version":1,"body":[]}`, false},
		{"unknown body field", `{"kind":"add_node","version":1,"body":{"name":"a","weight":3}}`, false},
		{"unknown envelope field", `{"kind":"add_node","version":1,"body":{},"x":1}`, false},
		{"wrong field type", `{"kind":"add_node","version":1,"body":{"port":"5432"}}`, false},
		{"trailing data", `{"kind":"add_node","version":1,"body":{}} {}`, false},
		{"truncated", `{"kind":"add_node","version":1,"body":{"name":`, false},
		{"kind not string", `{"kind":7,"version":1,"body":{}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := DecodeCommand([]byte(tc.data))
			if err == nil {
				t.Fatalf("DecodeCommand(%s) = %#v, want error", tc.data, cmd)
			}
			if got := errors.Is(err, ErrUnknownCommand); got != tc.unknown {
				t.Errorf("DecodeCommand(%s) error %q: errors.Is(ErrUnknownCommand) = %v, want %v", tc.data, err, got, tc.unknown)
			}
		})
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range allCommands() {
		data, err := EncodeCommand(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"kind":"set_placement","version":1,"body":{"nodes":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := DecodeCommand(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and apply without panicking.
		again, err := EncodeCommand(cmd)
		if err != nil {
			t.Fatalf("EncodeCommand(%#v): %v", cmd, err)
		}
		if !strings.Contains(string(again), cmd.Kind()) {
			t.Fatalf("re-encoded %s lacks kind %q", again, cmd.Kind())
		}
		s := mustApply(t, nil, AddNode{Name: "dn1", Host: "h", Port: 1})
		_, _ = ApplyCommand(s, cmd)
	})
}
