package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// session is what an action runs with: a connection and where and how to
// print.
type session struct {
	db   querier
	out  io.Writer
	json bool
	// openPoller opens a second connection for the progress bar and
	// returns it with the function that closes it; nil when no bar is
	// shown (output is not a terminal, or is JSON).
	openPoller func(ctx context.Context) (querier, func(), error)
	pollEvery  time.Duration
}

// printRows prints a result as a table, or as a JSON array of objects.
func (s *session) printRows(res *result) error {
	if s.json {
		return writeJSON(s.out, records(res))
	}
	return writeTable(s.out, res)
}

// printValue prints the single value of res: as {"result": value} in
// JSON, else as human makes it (formatValue when human is nil).
func (s *session) printValue(res *result, human func(any) string) error {
	v, err := res.value()
	if err != nil {
		return err
	}
	if s.json {
		return writeJSON(s.out, map[string]any{"result": v})
	}
	if human == nil {
		human = formatValue
	}
	_, err = fmt.Fprintln(s.out, human(v))
	return err
}

// countOr returns a human formatter for the result of a call that moves
// shard groups: a count is told by count, anything else (a message) is
// printed as it is.
func countOr(count func(n int64) string) func(any) string {
	return func(v any) string {
		if n, ok := asInt64(v); ok {
			return count(n)
		}
		return formatValue(v)
	}
}

// call runs one admin function that returns a single value and prints it.
type call struct {
	sql   string
	human func(any) string // nil: print the value as it is
	// expect, when set, is the work the call will do: it is shown with
	// a progress bar while the call runs.
	expect func(ctx context.Context, q querier) (estimate, error)
}

func (c call) run(ctx context.Context, s *session) error {
	var res *result
	var err error
	if c.expect != nil {
		res, err = s.queryWatched(ctx, c.sql, c.expect)
	} else {
		res, err = s.db.query(ctx, c.sql)
	}
	if err != nil {
		return err
	}
	return s.printValue(res, c.human)
}

// list runs a query and prints its rows.
type list struct {
	sql string
}

func (l list) run(ctx context.Context, s *session) error {
	res, err := s.db.query(ctx, l.sql)
	if err != nil {
		return err
	}
	return s.printRows(res)
}
