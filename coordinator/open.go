package coordinator

import (
	"context"

	"github.com/distgres/distgres/executor"
)

// openEarly opens a plan and reads its first row, so that an error the
// data nodes raise before any row comes out here, while nothing has been
// sent to the client and the statement may still run again: a write's
// answer is read lazily, so a shard table that a move dropped under it
// showed up only while streaming, where the extended protocol could not
// retry (clients saw 42P01 during rebalances).
func openEarly(ctx context.Context, op executor.Operator, rt *executor.Runtime, params executor.Params) (executor.Rows, error) {
	rows, err := op.Open(ctx, rt, params)
	if err != nil {
		return nil, err
	}
	first := rows.Next()
	if !first {
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, err
		}
	}
	return &peekedRows{Rows: rows, pending: first, ended: !first}, nil
}

// peekedRows hands out the row openEarly read before the rest.
type peekedRows struct {
	executor.Rows
	pending bool // the first row was read and not taken yet
	ended   bool // there was no first row
}

func (r *peekedRows) Next() bool {
	switch {
	case r.pending:
		r.pending = false
		return true
	case r.ended:
		return false
	}
	return r.Rows.Next()
}
