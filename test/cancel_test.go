package test

// End-to-end tests of query cancellation: a CancelRequest to the
// coordinator must stop the statement on every data node it runs on, end
// with SQLSTATE 57014, and leave the session (and the pooled data-node
// connections) usable.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

const (
	cancelRows  = 24
	cancelAfter = 300 * time.Millisecond
	// cancelBound is an upper bound for a cancelled statement to end; the
	// statements sleep far longer than that when not cancelled.
	cancelBound = 8 * time.Second
)

// cancelConnect connects with pgx configured to send a CancelRequest when
// a query's context is cancelled (pgx's default only closes the
// connection).
func cancelConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(harness.URL(url))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 3 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// cancelSleepers counts, on data node i, backends other than the caller's
// that run or hold a transaction open on a statement with pg_sleep.
func cancelSleepers(ctx context.Context, c *cluster.Cluster, i int) (int, error) {
	conn, err := pgconn.Connect(ctx, harness.URL(c.NodeURL(i)))
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	res := conn.ExecParams(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE query LIKE '%pg_sleep%' AND state <> 'idle' AND pid <> pg_backend_pid()`, nil, nil, nil, nil).Read()
	if res.Err != nil {
		return 0, res.Err
	}
	var n int
	_, err = fmt.Sscan(string(res.Rows[0][0]), &n)
	return n, err
}

// cancelAwaitSleepers waits until at least one data node runs pg_sleep
// (so the cancel hits a running statement).
func cancelAwaitSleepers(c *cluster.Cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		for i := range c.Nodes {
			if n, err := cancelSleepers(ctx, c, i); err == nil && n > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the statement never started on a data node")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cancelAssertNoSleepers polls every data node for up to 5 s until no
// pg_sleep statement runs there any more.
func cancelAssertNoSleepers(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var busy []string
		for i := range c.Nodes {
			n, err := cancelSleepers(ctx, c, i)
			if err != nil {
				t.Fatalf("node %d: pg_stat_activity: %v", i, err)
			}
			if n > 0 {
				busy = append(busy, fmt.Sprintf("node%d: %d", i, n))
			}
		}
		if len(busy) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("pg_sleep statements still running 5s after the cancel: %s", strings.Join(busy, ", "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cancelTerminateSleepers ends pg_sleep statements left behind on the
// data nodes by a failed cancel, so that they do not disturb later
// subtests.
func cancelTerminateSleepers(c *cluster.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range c.Nodes {
		conn, err := pgconn.Connect(ctx, harness.URL(c.NodeURL(i)))
		if err != nil {
			continue
		}
		conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE query LIKE '%pg_sleep%' AND state <> 'idle' AND pid <> pg_backend_pid()`).ReadAll()
		conn.Close(ctx)
	}
}

// cancelExpect57014 fails unless err is a query_canceled error.
func cancelExpect57014(t *testing.T, what string, err error) {
	t.Helper()
	var pe *pgconn.PgError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want SQLSTATE 57014", what)
	case !errors.As(err, &pe):
		t.Errorf("%s: %v (%T), want a server error with SQLSTATE 57014", what, err, err)
	case pe.Code != "57014":
		t.Errorf("%s: SQLSTATE %s (%s), want 57014", what, pe.Code, pe.Message)
	case pe.Message != "canceling statement due to user request":
		t.Errorf("%s: message %q, want PostgreSQL's \"canceling statement due to user request\"", what, pe.Message)
	}
}

// cancelQuery runs q on conn and cancels it after cancelAfter, either by
// cancelling the query's context (pgx then sends a CancelRequest) or by
// calling PgConn.CancelRequest directly. It returns the query's error.
func cancelQuery(t *testing.T, c *cluster.Cluster, conn *pgx.Conn, viaContext bool, mode pgx.QueryExecMode, q string, args ...any) error {
	t.Helper()
	t.Cleanup(func() { cancelTerminateSleepers(c) })
	bound, stop := context.WithTimeout(context.Background(), cancelBound)
	defer stop()
	qctx := bound
	var cancelCtx context.CancelFunc
	if viaContext {
		qctx, cancelCtx = context.WithCancel(bound)
		defer cancelCtx()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cancelAwaitSleepers(c); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		time.Sleep(cancelAfter)
		if viaContext {
			cancelCtx()
			return
		}
		if err := conn.PgConn().CancelRequest(bound); err != nil {
			t.Errorf("CancelRequest: %v", err)
		}
	}()
	var n int64
	err := conn.QueryRow(qctx, q, append([]any{mode}, args...)...).Scan(&n)
	<-done
	if bound.Err() != nil {
		t.Fatalf("%s was not cancelled within %v", q, cancelBound)
	}
	return err
}

func TestCancel(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	setup := cancelConnect(t, c.ClientURL)
	ctx, stop := context.WithTimeout(context.Background(), 50*time.Second)
	defer stop()
	if _, err := setup.Exec(ctx, "CREATE TABLE sleepy (id int PRIMARY KEY, v int)"); err != nil {
		t.Fatal(err)
	}
	var values []string
	for i := 1; i <= cancelRows; i++ {
		values = append(values, fmt.Sprintf("(%d, %d)", i, i))
	}
	if _, err := setup.Exec(ctx, "INSERT INTO sleepy VALUES "+strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}
	// Rows on every node, so that a scatter query sleeps on all of them.
	for i := range c.Nodes {
		conn, err := pgconn.Connect(ctx, harness.URL(c.ShardURL(i)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := conn.Exec(ctx, `SELECT string_agg(format('SELECT count(*) FROM %I', tablename), ' UNION ALL ')
			FROM pg_tables WHERE tablename ~ '^sleepy_[0-9]+$'`).ReadAll()
		if err != nil || len(res[0].Rows) != 1 || res[0].Rows[0][0] == nil {
			conn.Close(ctx)
			t.Fatalf("node %d has no sleepy shards: %v", i, err)
		}
		res, err = conn.Exec(ctx, "SELECT sum(count) FROM ("+string(res[0].Rows[0][0])+") s").ReadAll()
		conn.Close(ctx)
		if err != nil || string(res[0].Rows[0][0]) == "0" {
			t.Fatalf("node %d holds no sleepy rows: %v", i, err)
		}
	}

	check := func(t *testing.T, conn *pgx.Conn) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := 0; i < 4; i++ { // enough to use several pooled connections
			var n, sum int64
			if err := conn.QueryRow(ctx, "SELECT count(*), sum(v) FROM sleepy").Scan(&n, &sum); err != nil {
				t.Fatalf("scatter query after the cancel: %v", err)
			}
			if n != cancelRows || sum != cancelRows*(cancelRows+1)/2 {
				t.Fatalf("scatter query after the cancel = %d, %d; want %d, %d", n, sum, cancelRows, cancelRows*(cancelRows+1)/2)
			}
			var v int64
			if err := conn.QueryRow(ctx, "SELECT v FROM sleepy WHERE id = $1", int64(i+1)).Scan(&v); err != nil || v != int64(i+1) {
				t.Fatalf("router query after the cancel = %d, %v", v, err)
			}
		}
	}

	// Each row sleeps 2 s: a shard sleeps for many seconds, far beyond the
	// cancel.
	const scatter = "SELECT count(*) FROM sleepy WHERE pg_sleep(2) IS NOT NULL"
	const router = "SELECT count(*) FROM sleepy WHERE id = $1 AND pg_sleep(30) IS NOT NULL"

	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"Extended", pgx.QueryExecModeCacheStatement},
		{"Simple", pgx.QueryExecModeSimpleProtocol},
	} {
		t.Run("Scatter/"+m.name+"/CancelRequest", func(t *testing.T) {
			conn := cancelConnect(t, c.ClientURL)
			err := cancelQuery(t, c, conn, false, m.mode, scatter)
			cancelExpect57014(t, "scatter query", err)
			cancelAssertNoSleepers(t, c)
			check(t, conn)
		})
		t.Run("Scatter/"+m.name+"/Context", func(t *testing.T) {
			conn := cancelConnect(t, c.ClientURL)
			err := cancelQuery(t, c, conn, true, m.mode, scatter)
			cancelExpect57014(t, "scatter query", err)
			cancelAssertNoSleepers(t, c)
			if conn.IsClosed() {
				t.Errorf("the connection was closed by the cancel")
				conn = cancelConnect(t, c.ClientURL)
			}
			check(t, conn)
		})
		t.Run("Router/"+m.name+"/CancelRequest", func(t *testing.T) {
			conn := cancelConnect(t, c.ClientURL)
			err := cancelQuery(t, c, conn, false, m.mode, router, int64(7))
			cancelExpect57014(t, "router query", err)
			cancelAssertNoSleepers(t, c)
			check(t, conn)
		})
	}

	t.Run("InTransaction", func(t *testing.T) {
		conn := cancelConnect(t, c.ClientURL)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO sleepy VALUES (1001, 1), (1002, 2), (1003, 3)"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE sleepy SET v = v + 1000"); err != nil {
			t.Fatal(err)
		}
		err = cancelQuery(t, c, conn, false, pgx.QueryExecModeCacheStatement, scatter)
		cancelExpect57014(t, "scatter query in a transaction", err)
		_, err = tx.Exec(ctx, "SELECT 1")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "25P02" {
			t.Errorf("statement after the cancelled one: %v, want 25P02", err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		cancelAssertNoSleepers(t, c)
		check(t, conn)
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM sleepy WHERE id > 1000").Scan(&n); err != nil || n != 0 {
			t.Errorf("rows of the rolled-back transaction: %d, %v", n, err)
		}
	})

	// A cancel that arrives when nothing runs does nothing: the next
	// statement completes.
	t.Run("IdleCancelIsHarmless", func(t *testing.T) {
		conn := cancelConnect(t, c.ClientURL)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conn.PgConn().CancelRequest(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		check(t, conn)
	})
}
