package datanode

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// ExecAll runs sqls[i] on conns[i], one connection per statement. It sends
// every statement before it reads any answer, so that the nodes work in
// parallel without a goroutine per connection, and it reads every answer
// even after an error, so that each connection is free again. It returns
// each statement's results and error.
func ExecAll(ctx context.Context, conns []*pgconn.PgConn, sqls []string) ([][]*pgconn.Result, []error) {
	pending := make([]*pgconn.MultiResultReader, len(conns))
	for i, pc := range conns {
		pending[i] = pc.Exec(ctx, sqls[i])
	}
	results := make([][]*pgconn.Result, len(conns))
	errs := make([]error, len(conns))
	for i, r := range pending {
		results[i], errs[i] = r.ReadAll()
	}
	return results, errs
}
