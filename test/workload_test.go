package test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// workload is a concurrent read/write load on accounts (distributed),
// events (colocated with accounts) and currencies (reference), with a
// shadow copy of every acknowledged write. Each worker owns the accounts
// whose id is its number modulo the worker count, so the shadow of an
// account changes only with its owner's acknowledged writes and a point
// read must return exactly the shadow value.
type workload struct {
	url     string
	workers int
	stop    chan struct{}
	wg      sync.WaitGroup
	ops     atomic.Int64

	mu         sync.Mutex
	accounts   map[int64]int64 // id -> balance
	events     map[int64]int64 // account -> events
	currencies map[string]int64
	retryable  map[string]int          // SQLSTATE -> count
	failures   []string                // non-retryable errors and wrong reads
	pauses     map[int64]time.Duration // account -> slowest acknowledged write
}

// workloadSchema creates and fills the workload's tables.
var workloadSchema = []string{
	"CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)",
	"CREATE TABLE events (account bigint NOT NULL, note text) DISTRIBUTE BY HASH(account)",
	"CREATE TABLE currencies (code text PRIMARY KEY, rate bigint NOT NULL) DISTRIBUTE BY REPLICATION",
	"INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 3000) g",
	"INSERT INTO events SELECT g % 3000 + 1, 'initial' FROM generate_series(1, 6000) g",
	"INSERT INTO currencies SELECT 'C' || g, g FROM generate_series(1, 20) g",
}

// retryableCodes are errors a client is expected to retry: serialization
// failures, deadlocks, a write held back past its limit by a cut-over.
var retryableCodes = map[string]bool{"40001": true, "40P01": true, "55P03": true}

func startWorkload(t *testing.T, ctx context.Context, url string, workers int) *workload {
	t.Helper()
	db := mustConnect(t, ctx, url)
	for _, s := range workloadSchema {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	w := &workload{url: url, workers: workers, stop: make(chan struct{}),
		accounts: map[int64]int64{}, events: map[int64]int64{}, currencies: map[string]int64{},
		retryable: map[string]int{}, pauses: map[int64]time.Duration{}}
	for id := int64(1); id <= 3000; id++ {
		w.accounts[id] = 1000
		w.events[id] = 2
	}
	for g := int64(1); g <= 20; g++ {
		w.currencies[fmt.Sprintf("C%d", g)] = g
	}
	for i := range workers {
		conn := mustConnect(t, ctx, url)
		w.wg.Add(1)
		go w.run(ctx, conn, i)
	}
	return w
}

func (w *workload) run(ctx context.Context, conn *pgx.Conn, me int) {
	defer w.wg.Done()
	mode := pgx.QueryExecModeCacheStatement
	if me%2 == 1 {
		mode = pgx.QueryExecModeSimpleProtocol
	}
	rng := rand.New(rand.NewPCG(uint64(me), 7))
	next := int64(1_000_000 + me) // new accounts: ids beyond the initial ones
	owned := func() int64 { return int64(rng.IntN(3000/w.workers))*int64(w.workers) + int64(me) + 1 }
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		w.ops.Add(1)
		switch op := rng.IntN(100); {
		case op < 35:
			id, d := owned(), int64(rng.IntN(100)-50)
			w.write(ctx, id, func() error {
				_, err := conn.Exec(ctx, "UPDATE accounts SET balance = balance + $1 WHERE id = $2", mode, d, id)
				return err
			}, func() { w.accounts[id] += d })
		case op < 50:
			id := next
			next += int64(w.workers)
			w.write(ctx, id, func() error {
				_, err := conn.Exec(ctx, "INSERT INTO accounts VALUES ($1, 500)", mode, id)
				return err
			}, func() { w.accounts[id] = 500 })
		case op < 65:
			id := owned()
			w.write(ctx, id, func() error {
				_, err := conn.Exec(ctx, "INSERT INTO events VALUES ($1, 'load')", mode, id)
				return err
			}, func() { w.events[id]++ })
		case op < 88:
			id := owned()
			var got int64
			err := conn.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = $1", mode, id).Scan(&got)
			w.mu.Lock()
			want := w.accounts[id]
			w.mu.Unlock()
			if err == nil && got != want {
				err = fmt.Errorf("account %d reads %d, acknowledged %d", id, got, want)
			}
			w.fail(err)
		case op < 97:
			var n int64
			w.fail(conn.QueryRow(ctx, "SELECT count(*) FROM accounts", mode).Scan(&n))
		default:
			if me != 0 {
				continue
			}
			code := fmt.Sprintf("C%d", rng.IntN(20)+1)
			w.write(ctx, 0, func() error {
				_, err := conn.Exec(ctx, "UPDATE currencies SET rate = rate + 1 WHERE code = $1", mode, code)
				return err
			}, func() { w.currencies[code]++ })
		}
	}
}

// write runs one write and, when it is acknowledged, applies it to the
// shadow and records how long it took.
func (w *workload) write(ctx context.Context, id int64, do func() error, shadow func()) {
	start := time.Now()
	err := do()
	took := time.Since(start)
	if err != nil {
		w.fail(err)
		return
	}
	w.mu.Lock()
	shadow()
	if id != 0 && took > w.pauses[id] {
		w.pauses[id] = took
	}
	w.mu.Unlock()
}

func (w *workload) fail(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var pe *pgconn.PgError
	if errors.As(err, &pe) && retryableCodes[pe.Code] {
		w.retryable[pe.Code]++
		return
	}
	w.failures = append(w.failures, err.Error())
}

// finish stops the load, checks the cluster against the shadow and
// prints the figures.
func (w *workload) finish(t *testing.T, ctx context.Context, snap *catalog.Snapshot) {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	db := mustConnect(t, ctx, w.url)
	t.Logf("workload: %d operations, retryable errors %v, other errors %d", w.ops.Load(), w.retryable, len(w.failures))
	for i, f := range w.failures {
		if i == 10 {
			t.Errorf("... and %d more", len(w.failures)-10)
			break
		}
		t.Errorf("client error: %s", f)
	}
	compareShadow(t, ctx, db, "accounts", "SELECT id, balance FROM accounts", w.accounts)
	compareShadow(t, ctx, db, "events", "SELECT account, count(*) FROM events GROUP BY account", w.events)
	compareShadow(t, ctx, db, "currencies", "SELECT code, rate FROM currencies", w.currencies)
	if accounts, ok := snap.Table("public", "accounts"); ok {
		longest := map[int]time.Duration{}
		for id, d := range w.pauses {
			g := accounts.ShardIndexForHash(catalog.HashInt8(id))
			longest[g] = max(longest[g], d)
		}
		var lines []string
		for g, d := range longest {
			lines = append(lines, fmt.Sprintf("group %2d: %v", g, d.Round(time.Millisecond)))
		}
		sort.Strings(lines)
		t.Logf("longest acknowledged write per shard group:\n  %s", strings.Join(lines, "\n  "))
	}
}

// compareShadow checks that query returns exactly the shadow's rows.
func compareShadow[K comparable](t *testing.T, ctx context.Context, db *pgx.Conn, name, query string, shadow map[K]int64) {
	t.Helper()
	rows, err := db.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	got := map[K]int64{}
	for rows.Next() {
		var k K
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for k, v := range shadow {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v missing (acknowledged %d)", k, v))
		} else if g != v {
			diffs = append(diffs, fmt.Sprintf("%v = %d, acknowledged %d", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := shadow[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v = %d was never acknowledged", k, v))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("%s: %d rows differ from the shadow copy, e.g. %v", name, len(diffs), diffs[:min(5, len(diffs))])
	} else {
		t.Logf("%s: %d rows equal the shadow copy", name, len(got))
	}
}
