package datanode

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestPools(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var configured []string
	var mu sync.Mutex
	pools := NewPools(PoolOptions{
		MaxConns: 4,
		Configure: func(nodeID int32, database string, cfg *pgxpool.Config) error {
			mu.Lock()
			defer mu.Unlock()
			configured = append(configured, database)
			return nil
		},
	})
	defer pools.Close()

	// Concurrent first use creates exactly one pool.
	got := make([]*pgxpool.Pool, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			p, err := pools.Get(ctx, 1, "127.0.0.1", s.Port(), "postgres")
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	wg.Wait()
	for _, p := range got[1:] {
		if p != got[0] {
			t.Fatal("concurrent Gets returned different pools")
		}
	}
	p := got[0]
	if p.Config().MaxConns != 4 {
		t.Errorf("MaxConns = %d", p.Config().MaxConns)
	}
	var user, db string
	if err := p.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &db); err != nil {
		t.Fatal(err)
	}
	if user != "postgres" || db != "postgres" {
		t.Errorf("connected as %s to %s", user, db)
	}

	other, err := pools.Get(ctx, 1, "127.0.0.1", s.Port(), "template1")
	if err != nil {
		t.Fatal(err)
	}
	if other == p {
		t.Error("different databases share a pool")
	}
	if err := other.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "template1" {
		t.Errorf("template1 pool: %q, %v", db, err)
	}
	if len(configured) != 2 {
		t.Errorf("Configure called %d times, want 2", len(configured))
	}

	// A new address for the same node replaces its pool.
	moved, err := pools.Get(ctx, 1, "localhost", s.Port(), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if moved == p {
		t.Error("pool not replaced after address change")
	}

	pools.Close()
	if _, err := pools.Get(ctx, 1, "127.0.0.1", s.Port(), "postgres"); !errors.Is(err, ErrPoolsClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

// TestPoolsIdleCheck: a connection idle past a second is checked by
// looking at its socket, not pinged (a round trip nobody asked for), and
// one the server ended while it was idle is replaced.
func TestPoolsIdleCheck(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pools := NewPools(PoolOptions{MaxConns: 2})
	defer pools.Close()
	p, err := pools.Get(ctx, 1, "127.0.0.1", s.Port(), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	// lastQuery is what the pooled connection's backend ran last.
	lastQuery := func(pid uint32) string {
		var q string
		if err := other.QueryRow(ctx, "SELECT query FROM pg_stat_activity WHERE pid = $1", pid).Scan(&q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	use := func() uint32 {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		pid := c.Conn().PgConn().PID()
		if q := lastQuery(pid); q == "-- ping" {
			t.Errorf("a connection idle for %v was pinged when acquired", pingAfterIdle)
		}
		if _, err := c.Exec(ctx, "SELECT 'idle check'"); err != nil {
			t.Fatalf("query on the acquired connection: %v", err)
		}
		return pid
	}
	first := use()
	time.Sleep(pingAfterIdle + 200*time.Millisecond)
	if again := use(); again != first {
		t.Fatalf("the idle connection (backend %d) was replaced by backend %d", first, again)
	}
	// The server ends the idle session: the pool hands out a new one.
	if _, err := other.Exec(ctx, "SELECT pg_terminate_backend($1)", first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pingAfterIdle + 200*time.Millisecond)
	if again := use(); again == first {
		t.Fatal("the terminated connection was handed out again")
	}
}
