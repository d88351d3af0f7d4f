package main

import (
	"context"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	other := move{id: "m0", bytesTotal: 999, bytesDone: 500}
	type step struct {
		moves []move
		want  progress
	}
	tests := []struct {
		name   string
		expect estimate
		before []move
		steps  []step
	}{
		{
			name:   "rebalance with a plan of known size",
			expect: estimate{groups: 3, bytes: 300},
			before: []move{other},
			steps: []step{
				{nil, progress{groupsTotal: 3, bytesTotal: 300}},
				{[]move{other, {id: "a", bytesTotal: 100, bytesDone: 40}}, progress{groupsTotal: 3, bytesDone: 40, bytesTotal: 300}},
				{[]move{other, {id: "b", bytesTotal: 120, bytesDone: 0}, {id: "c", bytesTotal: 80, bytesDone: 10}}, progress{groupsDone: 1, groupsTotal: 3, bytesDone: 110, bytesTotal: 300}},
				{[]move{{id: "c", bytesTotal: 80, bytesDone: 80}}, progress{groupsDone: 2, groupsTotal: 3, bytesDone: 300, bytesTotal: 300}},
				{nil, progress{groupsDone: 3, groupsTotal: 3, bytesDone: 300, bytesTotal: 300}},
			},
		},
		{
			name:   "a move of unknown size counts what it copied",
			expect: estimate{groups: 2},
			steps: []step{
				{[]move{{id: "a", bytesTotal: -1, bytesDone: 64}}, progress{groupsTotal: 2, bytesDone: 64}},
				{[]move{{id: "b", bytesTotal: 50, bytesDone: 10}}, progress{groupsDone: 1, groupsTotal: 2, bytesDone: 74, bytesTotal: 114}},
				{nil, progress{groupsDone: 2, groupsTotal: 2, bytesDone: 114, bytesTotal: 114}},
			},
		},
		{
			name:   "the estimate was short",
			expect: estimate{groups: 1, bytes: 10},
			steps: []step{
				{[]move{{id: "a", bytesTotal: 10, bytesDone: 10}, {id: "b", bytesTotal: 20, bytesDone: 5}}, progress{groupsTotal: 2, bytesDone: 15, bytesTotal: 15}},
			},
		},
		{
			name:   "figures that go NULL as a move ends keep their last value",
			expect: estimate{groups: 1},
			steps: []step{
				{[]move{{id: "a", bytesTotal: 100, bytesDone: 60}}, progress{groupsTotal: 1, bytesDone: 60, bytesTotal: 100}},
				{[]move{{id: "a", bytesTotal: -1, bytesDone: 0}}, progress{groupsTotal: 1, bytesDone: 60, bytesTotal: 100}},
				{nil, progress{groupsDone: 1, groupsTotal: 1, bytesDone: 100, bytesTotal: 100}},
			},
		},
		{
			name: "nothing expected",
			steps: []step{
				{[]move{{id: "a", bytesTotal: 10, bytesDone: 5}}, progress{bytesDone: 5}},
				{nil, progress{groupsDone: 1, bytesDone: 10}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(tt.expect, tt.before)
			for i, s := range tt.steps {
				tr.observe(s.moves)
				s.want.elapsed = time.Duration(i) * time.Second
				if got := tr.progress(time.Duration(i) * time.Second); got != s.want {
					t.Errorf("step %d: %+v, want %+v", i, got, s.want)
				}
			}
		})
	}
}

func TestPollMoves(t *testing.T) {
	db := &fakeDB{answers: map[string]*result{
		movesPollSQL: {
			columns: []string{"id", "state", "bytes_total", "bytes_done"},
			rows: [][]any{
				{"m1", "copying", int64(100), int64(40)},
				{"m2", "queued", nil, nil},
			},
		},
	}}
	got, err := pollMoves(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	want := []move{{id: "m1", bytesTotal: 100, bytesDone: 40}, {id: "m2", bytesTotal: -1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("pollMoves = %+v, want %+v", got, want)
	}
}
