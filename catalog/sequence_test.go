package catalog

import (
	"errors"
	"testing"
)

func TestSequenceAllocation(t *testing.T) {
	s := mustApply(t, withNodes(t, 1),
		hashTable("t", 23, 2),
		CreateSequence{Schema: "public", Name: "t_id_seq", Start: 1, Increment: 1, Min: 1, Max: 2147483647, OwnerTable: "t", OwnerColumn: "id"},
		AllocateSequence{Schema: "public", Name: "t_id_seq", From: 1, Count: 100})
	q, _ := s.Sequence("public", "t_id_seq")
	if q.Next != 101 {
		t.Fatalf("next = %d, want 101", q.Next)
	}
	// A proposer that read an old Next loses the race and must retry.
	if _, err := ApplyCommand(s, AllocateSequence{Schema: "public", Name: "t_id_seq", From: 1, Count: 10}); !errors.Is(err, ErrSequenceMoved) {
		t.Fatalf("stale allocation: %v, want ErrSequenceMoved", err)
	}
	if got := s.ColumnSequences("public", "t"); len(got) != 1 || got[0].OwnerColumn != "id" {
		t.Fatalf("column sequences = %+v", got)
	}
	// Owned sequences follow their table.
	s = mustApply(t, s, RenameColumn{Schema: "public", Table: "t", Column: "id", NewName: "key"},
		RenameTable{Schema: "public", Name: "t", NewName: "u"})
	if got := s.ColumnSequences("public", "u"); len(got) != 1 || got[0].OwnerColumn != "key" {
		t.Fatalf("after renames: %+v", got)
	}
	s = mustApply(t, s, DropTable{Schema: "public", Name: "u"})
	if _, ok := s.Sequence("public", "t_id_seq"); ok {
		t.Fatal("owned sequence survived DROP TABLE")
	}
}

func TestSequenceLimits(t *testing.T) {
	tests := []struct {
		name      string
		create    CreateSequence
		count     int64
		wantNext  int64
		exhausted bool
	}{
		{"partial block at the maximum", CreateSequence{Start: 8, Increment: 1, Min: 1, Max: 10}, 100, 11, false},
		{"past the maximum", CreateSequence{Start: 10, Increment: 5, Min: 1, Max: 10}, 1, 15, false},
		{"counting down", CreateSequence{Start: -1, Increment: -2, Min: -6, Max: -1}, 10, -7, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.create
			c.Schema, c.Name = "s", "q"
			s := mustApply(t, NewSnapshot(), c, AllocateSequence{Schema: "s", Name: "q", From: c.Start, Count: tc.count})
			q, _ := s.Sequence("s", "q")
			if q.Next != tc.wantNext {
				t.Fatalf("next = %d, want %d", q.Next, tc.wantNext)
			}
			if _, err := ApplyCommand(s, AllocateSequence{Schema: "s", Name: "q", From: q.Next, Count: 1}); !errors.Is(err, ErrSequenceExhausted) {
				t.Fatalf("allocation after the end: %v, want ErrSequenceExhausted", err)
			}
		})
	}
	for _, bad := range []CreateSequence{
		{Schema: "s", Name: "q", Increment: 0, Min: 1, Max: 2, Start: 1},
		{Schema: "s", Name: "q", Increment: 1, Min: 3, Max: 2, Start: 3},
		{Schema: "s", Name: "q", Increment: 1, Min: 1, Max: 2, Start: 5},
	} {
		if _, err := ApplyCommand(NewSnapshot(), bad); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%+v: %v, want ErrInvalidCommand", bad, err)
		}
	}
}
