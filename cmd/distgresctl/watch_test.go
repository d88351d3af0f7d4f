package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// querierFunc makes a function a querier.
type querierFunc func(ctx context.Context, sql string) (*result, error)

func (f querierFunc) query(ctx context.Context, sql string) (*result, error) { return f(ctx, sql) }

// TestDrainProgress drains a node on a fake coordinator whose
// distgres_moves() shows the drain's two moves one after the other, next
// to a move that was running before (someone else's), and checks the bar
// and the result.
func TestDrainProgress(t *testing.T) {
	const drainSQL = "SELECT distgres_node_drain('n2')"
	movesColumns := []string{"id", "state", "bytes_total", "bytes_done"}
	other := []any{"m0", "copying", int64(999), int64(500)}
	samples := [][][]any{
		{other}, // before the call
		{other, {"m1", "copying", int64(120), int64(60)}},
		{other, {"m2", "copying", int64(80), nil}},
		{other},
	}
	release := make(chan struct{})
	var mu sync.Mutex
	polls := 0
	poller := querierFunc(func(ctx context.Context, sql string) (*result, error) {
		if sql != movesPollSQL {
			return nil, fmt.Errorf("poller: unexpected SQL %q", sql)
		}
		mu.Lock()
		defer mu.Unlock()
		polls++
		if polls == len(samples)+1 {
			close(release) // the last sample has been drawn
		}
		return &result{columns: movesColumns, rows: samples[min(polls, len(samples))-1]}, nil
	})
	db := querierFunc(func(ctx context.Context, sql string) (*result, error) {
		switch sql {
		case nodeShardsSQL:
			return &result{
				columns: []string{"colocation_id", "shard_index", "nodes", "bytes"},
				rows: [][]any{
					{int64(1), int32(0), "n2", int64(120)},
					{int64(1), int32(1), "n1,n2", int64(80)},
					{int64(1), int32(2), "n1", int64(5000)},
				},
			}, nil
		case drainSQL:
			select {
			case <-release:
			case <-time.After(10 * time.Second):
				return nil, fmt.Errorf("the poller did not get to the last sample")
			}
			return one([]string{"distgres_node_drain"}, int32(2)), nil
		}
		return nil, fmt.Errorf("db: unexpected SQL %q", sql)
	})
	closed := false
	var out bytes.Buffer
	s := &session{
		db:        db,
		out:       &out,
		pollEvery: time.Millisecond,
		openPoller: func(context.Context) (querier, func(), error) {
			return poller, func() { closed = true }, nil
		},
	}
	inv, err := parse([]string{"node", "drain", "n2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.act.run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if !closed {
		t.Error("the poller's connection was not closed")
	}
	printed := out.String()
	if !strings.HasPrefix(printed, "\r[") {
		t.Errorf("printed %q, want a bar first", printed)
	}
	draws := strings.Split(printed, "\r")
	last, result, ok := strings.Cut(draws[len(draws)-1], "\n")
	if !ok {
		t.Fatalf("no newline after the bar: %q", printed)
	}
	if want := "[====================] 2/2 shard groups  200 B/200 B  ETA 0s"; strings.TrimRight(last, " ") != want {
		t.Errorf("last bar %q, want %q", last, want)
	}
	if want := "node n2 drained: 2 shard groups moved\n"; result != want {
		t.Errorf("result %q, want %q", result, want)
	}
	for _, d := range draws[1:] {
		if strings.Contains(d, "999") || strings.Contains(d, "/3 ") {
			t.Errorf("bar %q counts the move that was running before", d)
		}
	}
}

// TestNoProgressWithoutTerminal checks that nothing but the result is
// printed when there is no poller (stdout is not a terminal, or JSON).
func TestNoProgressWithoutTerminal(t *testing.T) {
	db := &fakeDB{answers: map[string]*result{
		"SELECT distgres_move_shard(7, 'n3')": one([]string{"distgres_move_shard"}, "moved"),
	}}
	var out bytes.Buffer
	inv, err := parse([]string{"shard", "move", "7", "--to", "n3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.act.run(context.Background(), &session{db: db, out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "moved\n" {
		t.Errorf("printed %q, want %q", out.String(), "moved\n")
	}
	if len(db.sent) != 1 {
		t.Errorf("sent %q, want only the call", db.sent)
	}
}
