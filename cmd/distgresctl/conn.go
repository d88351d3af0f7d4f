package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// cancelWait is how long a cancelled call waits for the coordinator to
// answer the cancel request (it stops the move and cleans up first)
// before the connection is dropped.
const cancelWait = 10 * time.Second

// connConfig resolves where to connect: url (--url), else $DISTGRES_URL,
// else the libpq environment (PGHOST, PGPORT, ...), which pgx reads itself.
func connConfig(url string, getenv func(string) string) (*pgx.ConnConfig, error) {
	if url == "" {
		url = getenv("DISTGRES_URL")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("connection string: %w", err)
	}
	// One plain Query message per statement, as psql sends.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return cfg, nil
}

// conn is a connection to a coordinator.
type conn struct {
	pgx *pgx.Conn
}

// connect opens a connection. With cancelRequests, a query whose context
// ends is cancelled on the server with a CancelRequest, and the query
// waits (up to cancelWait) for the server to stop it; otherwise pgx drops
// the connection at once.
func connect(ctx context.Context, cfg *pgx.ConnConfig, cancelRequests bool) (*conn, error) {
	cfg = cfg.Copy()
	if cancelRequests {
		cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelWait}
		}
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &conn{pgx: c}, nil
}

func (c *conn) query(ctx context.Context, sql string) (*result, error) {
	rows, err := c.pgx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &result{}
	for _, fd := range rows.FieldDescriptions() {
		res.columns = append(res.columns, fd.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		res.rows = append(res.rows, vals)
	}
	return res, rows.Err()
}

func (c *conn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.pgx.Close(ctx)
}
