package catalog

import (
	"encoding/json"
	"errors"
	"testing"
)

func mustEncode(t *testing.T, cmds ...Command) []json.RawMessage {
	t.Helper()
	raw, err := EncodeCommands(cmds...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestGlobalTxLifecycle(t *testing.T) {
	base := withNodes(t, 2)
	create := hashTable("t", 23, 4)
	drop := DropTable{Schema: "public", Name: "t"}
	tests := []struct {
		name      string
		before    []Command
		onCommit  []Command
		onAbort   []Command
		commit    bool
		wantTable bool
	}{
		{name: "create commits", before: []Command{create}, onAbort: []Command{drop}, commit: true, wantTable: true},
		{name: "create aborts", before: []Command{create}, onAbort: []Command{drop}, commit: false, wantTable: false},
		{name: "create on commit", onCommit: []Command{create}, commit: true, wantTable: true},
		{name: "create on commit, aborted", onCommit: []Command{create}, commit: false, wantTable: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := GlobalTx{ID: "ab12", Coordinator: "c1", Incarnation: "i1", OnCommit: mustEncode(t, tc.onCommit...), OnAbort: mustEncode(t, tc.onAbort...)}
			s := mustApply(t, base, BeginTx{Tx: tx, Before: mustEncode(t, tc.before...)})
			got, ok := s.GlobalTx("ab12")
			if !ok || got.State != TxPending {
				t.Fatalf("after BeginTx: %+v, %v; want pending", got, ok)
			}
			if _, err := ApplyCommand(s, BeginTx{Tx: tx}); !errors.Is(err, ErrTxExists) {
				t.Fatalf("second BeginTx: %v, want ErrTxExists", err)
			}
			s = mustApply(t, s, DecideTx{ID: "ab12", Commit: tc.commit})
			// Repeating a decision is a no-op; contradicting it fails.
			s = mustApply(t, s, DecideTx{ID: "ab12", Commit: tc.commit})
			if _, err := ApplyCommand(s, DecideTx{ID: "ab12", Commit: !tc.commit}); !errors.Is(err, ErrTxDecided) {
				t.Fatalf("contradicting decision: %v, want ErrTxDecided", err)
			}
			if _, ok := s.Table("public", "t"); ok != tc.wantTable {
				t.Fatalf("table present = %v, want %v", ok, tc.wantTable)
			}
			want := TxAborted
			if tc.commit {
				want = TxCommitted
			}
			if got, _ := s.GlobalTx("ab12"); got.State != want {
				t.Fatalf("state = %s, want %s", got.State, want)
			}
			// The record survives a snapshot round trip.
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back Snapshot
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if got, _ := back.GlobalTx("ab12"); got.State != want || len(got.OnAbort) != len(tc.onAbort) {
				t.Fatalf("after round trip: %+v", got)
			}
			s = mustApply(t, s, ForgetTx{IDs: []string{"ab12"}}, ForgetTx{IDs: []string{"ab12", "cd"}})
			if _, ok := s.GlobalTx("ab12"); ok {
				t.Fatal("record still there after ForgetTx")
			}
		})
	}
}

// A commit whose catalog change no longer applies fails as a whole: the
// transaction stays pending and the catalog is unchanged.
func TestDecideTxCommitThatNoLongerApplies(t *testing.T) {
	s := mustApply(t, withNodes(t, 1), hashTable("t", 23, 2))
	tx := GlobalTx{ID: "01", OnCommit: mustEncode(t, DropTable{Schema: "public", Name: "t"})}
	s = mustApply(t, s, BeginTx{Tx: tx}, DropTable{Schema: "public", Name: "t"})
	if _, err := ApplyCommand(s, DecideTx{ID: "01", Commit: true}); !errors.Is(err, ErrNoSuchTable) {
		t.Fatalf("commit: %v, want ErrNoSuchTable", err)
	}
	if got, _ := s.GlobalTx("01"); got.State != TxPending {
		t.Fatalf("state = %s, want pending", got.State)
	}
	// Presumed abort: an abort decision for an unknown transaction leaves
	// a record, so that its coordinator's late commit fails; a commit
	// decision for one records its participants.
	s = mustApply(t, s, DecideTx{ID: "02", Commit: false}, DecideTx{ID: "03", Commit: true, Participants: []Participant{{Node: 1, Database: "x"}}})
	if got, ok := s.GlobalTx("02"); !ok || got.State != TxAborted {
		t.Fatalf("abort of an unknown transaction: %+v, %v", got, ok)
	}
	if _, err := ApplyCommand(s, DecideTx{ID: "02", Commit: true}); !errors.Is(err, ErrTxDecided) {
		t.Fatalf("commit after a presumed abort: %v, want ErrTxDecided", err)
	}
	if got, _ := s.GlobalTx("03"); got.State != TxCommitted || len(got.Participants) != 1 {
		t.Fatalf("commit of an unrecorded transaction: %+v", got)
	}
}

func TestGlobalTxValidation(t *testing.T) {
	for _, cmd := range []Command{
		BeginTx{Tx: GlobalTx{ID: "XYZ"}},
		BeginTx{Tx: GlobalTx{ID: ""}},
		BeginTx{Tx: GlobalTx{ID: "01", OnCommit: []json.RawMessage{json.RawMessage(`{"kind":"drop_table","version":7,"body":{}}`)}}},
		DecideTx{ID: "01_2"},
		ForgetTx{IDs: []string{""}},
		ForgetTx{},
		SetCoordinator{ID: "", RaftAddr: "x"},
		SetCoordinator{ID: "a"},
	} {
		if _, err := ApplyCommand(NewSnapshot(), cmd); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%#v: %v, want ErrInvalidCommand", cmd, err)
		}
	}
}

func TestPreparedNames(t *testing.T) {
	p := Participant{Node: 12, Database: "distgres_shards"}
	gid := PreparedName("0a1b", p)
	id, got, ok := ParsePreparedName(gid)
	if !ok || id != "0a1b" || got != p {
		t.Fatalf("ParsePreparedName(%q) = %q, %+v, %v", gid, id, got, ok)
	}
	for _, bad := range []string{"", "distgres_", "distgres_0a1b", "distgres_0a1b_x_db", "distgres_XY_1_db", "other_0a1b_1_db", "distgres_0a1b_1_"} {
		if _, _, ok := ParsePreparedName(bad); ok {
			t.Errorf("ParsePreparedName(%q) accepted", bad)
		}
	}
}

func TestCoordinators(t *testing.T) {
	s := mustApply(t, NewSnapshot(),
		SetCoordinator{ID: "b", RaftAddr: "h:2", Incarnation: "1"},
		SetCoordinator{ID: "a", RaftAddr: "h:1", Incarnation: "1"},
		SetCoordinator{ID: "b", RaftAddr: "h:2", ClientAddr: "h:5433", Incarnation: "2"})
	cs := s.Coordinators()
	if len(cs) != 2 || cs[0].ID != "a" || cs[1].Incarnation != "2" || cs[1].ClientAddr != "h:5433" {
		t.Fatalf("coordinators = %+v", cs)
	}
	s = mustApply(t, s, RemoveCoordinator{ID: "a"})
	if _, ok := s.Coordinator("a"); ok {
		t.Fatal("removed coordinator still listed")
	}
	if _, err := ApplyCommand(s, RemoveCoordinator{ID: "a"}); !errors.Is(err, ErrNoSuchCoordinator) {
		t.Fatalf("removing twice: %v", err)
	}
}

// Plans depend on the schema version: commit records of data transactions,
// coordinators and sequence allocations leave it alone; DDL moves it.
func TestSchemaVersion(t *testing.T) {
	s := mustApply(t, withNodes(t, 1), hashTable("t", 23, 2),
		CreateSequence{Schema: "public", Name: "q", Start: 1, Increment: 1, Min: 1, Max: 100})
	v := s.SchemaVersion()
	s = mustApply(t, s,
		SetCoordinator{ID: "c1", RaftAddr: "h:1"},
		DecideTx{ID: "0a", Commit: true, Participants: []Participant{{Node: 1, Database: "x"}}},
		ForgetTx{IDs: []string{"0a"}},
		AllocateSequence{Schema: "public", Name: "q", From: 1, Count: 10},
		BeginTx{Tx: GlobalTx{ID: "0b"}}, DecideTx{ID: "0b", Commit: true})
	if s.SchemaVersion() != v {
		t.Fatalf("schema version moved from %d to %d without a schema change", v, s.SchemaVersion())
	}
	s = mustApply(t, s, BeginTx{Tx: GlobalTx{ID: "0c", OnCommit: mustEncode(t, DropTable{Schema: "public", Name: "t"})}})
	if s.SchemaVersion() != v {
		t.Fatal("a DDL intent without an immediate change moved the schema version")
	}
	s = mustApply(t, s, DecideTx{ID: "0c", Commit: true})
	if s.SchemaVersion() != v+1 {
		t.Fatalf("schema version %d after DDL commit, want %d", s.SchemaVersion(), v+1)
	}
}
