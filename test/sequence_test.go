package test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestGlobalSequencesAcrossCoordinators inserts into tables with serial
// and identity columns through four coordinators at once, in both
// protocols, and checks that every value is unique, also after a
// coordinator restarts.
func TestGlobalSequencesAcrossCoordinators(t *testing.T) {
	g := harness.StartGroup(t, harness.GroupOptions{Coordinators: 4, Nodes: 2})
	ctx := context.Background()
	if err := groupExec(g.URL(0),
		"CREATE TABLE seq_items (id bigserial PRIMARY KEY, who int, n int)",
		"CREATE TABLE seq_events (id int GENERATED ALWAYS AS IDENTITY, k int NOT NULL, PRIMARY KEY (k, id)) DISTRIBUTE BY HASH (k)"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		waitCatalog(t, g.Coords[i], g.Coords[0].Store.Snapshot().Version())
	}
	const perClient = 120
	round := func(t *testing.T, tag int) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 4 {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cfg, err := pgx.ParseConfig(g.URL(i))
					if err != nil {
						errs <- err
						return
					}
					cfg.DefaultQueryExecMode = mode
					conn, err := pgx.ConnectConfig(ctx, cfg)
					if err != nil {
						errs <- err
						return
					}
					defer conn.Close(ctx)
					for n := 0; n < perClient; n += 3 {
						if _, err := conn.Exec(ctx, "INSERT INTO seq_items (who, n) VALUES ($1, $2), ($1, $2 + 1), ($1, $2 + 2)", tag*10+i, n); err != nil {
							errs <- fmt.Errorf("coordinator %d: %w", i, err)
							return
						}
						if _, err := conn.Exec(ctx, "INSERT INTO seq_events (k) VALUES ($1)", n); err != nil {
							errs <- fmt.Errorf("coordinator %d: %w", i, err)
							return
						}
					}
					var id, cur int64
					if err := conn.QueryRow(ctx, "INSERT INTO seq_items (who, n) VALUES ($1, -1) RETURNING id", tag*10+i).Scan(&id); err != nil {
						errs <- err
						return
					}
					if err := conn.QueryRow(ctx, "SELECT currval('seq_items_id_seq')").Scan(&cur); err != nil {
						errs <- err
						return
					}
					if cur != id {
						errs <- fmt.Errorf("currval %d after inserting id %d", cur, id)
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, wantItems int64) {
		t.Helper()
		var n, distinct int64
		conn, err := pgx.Connect(ctx, g.URL(1))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM seq_items").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != wantItems || distinct != n {
			t.Fatalf("seq_items: %d rows, %d distinct ids; want %d unique", n, distinct, wantItems)
		}
		var en, edistinct, minID int64
		if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT id), min(id) FROM seq_events").Scan(&en, &edistinct, &minID); err != nil {
			t.Fatal(err)
		}
		if en != edistinct || minID < 1 {
			t.Fatalf("seq_events: %d rows, %d distinct ids, min %d", en, edistinct, minID)
		}
	}
	const rowsPerRound = 4 * 2 * (perClient + 1)
	round(t, 1)
	check(t, rowsPerRound)

	// Values drawn after restarts never repeat earlier ones.
	g.Stop(2)
	g.Stop(3)
	g.Start(t, 2)
	g.Start(t, 3)
	g.Leader(t)
	round(t, 2)
	check(t, 2*rowsPerRound)
}
