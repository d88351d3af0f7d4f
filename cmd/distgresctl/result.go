package main

import (
	"context"
	"fmt"
)

// A querier runs one statement and returns all its rows.
type querier interface {
	query(ctx context.Context, sql string) (*result, error)
}

// result is the whole answer to a query: column names and decoded values
// (nil for NULL).
type result struct {
	columns []string
	rows    [][]any
}

// value returns the only value of a one-row, one-column result.
func (r *result) value() (any, error) {
	if len(r.rows) != 1 || len(r.columns) != 1 || len(r.rows[0]) != 1 {
		return nil, fmt.Errorf("expected one value, got %d rows of %d columns", len(r.rows), len(r.columns))
	}
	return r.rows[0][0], nil
}

// asInt64 returns an integer value; ok is false for NULL and non-integers.
func asInt64(v any) (n int64, ok bool) {
	switch x := v.(type) {
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}
