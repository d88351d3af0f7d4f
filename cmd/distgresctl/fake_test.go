package main

import (
	"context"
	"fmt"
	"sync"
)

// fakeDB answers queries from a table of SQL texts and records what it
// was sent.
type fakeDB struct {
	mu      sync.Mutex
	answers map[string]*result
	errs    map[string]error
	sent    []string
}

func (f *fakeDB) query(ctx context.Context, sql string) (*result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sql)
	if err := f.errs[sql]; err != nil {
		return nil, err
	}
	res, ok := f.answers[sql]
	if !ok {
		return nil, fmt.Errorf("fakeDB: unexpected SQL %q", sql)
	}
	return res, nil
}

// one is a result of one row.
func one(columns []string, values ...any) *result {
	return &result{columns: columns, rows: [][]any{values}}
}
