package datanode

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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
