package test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// groupQueryInt runs a one-value query through a coordinator.
func groupQueryInt(t *testing.T, url, sql string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil {
		t.Fatalf("%s on %s: %v", sql, url, err)
	}
	return n
}

// groupExec runs statements through a coordinator and returns the first
// error.
func groupExec(url string, sqls ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}

// waitCatalog waits until coordinator c's catalog reaches version v.
func waitCatalog(t *testing.T, c *cluster.Coordinator, v uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for c.Store.Snapshot().Version() < v {
		if time.Now().After(deadline) {
			t.Fatalf("%s: catalog version %d, want %d", c.ID, c.Store.Snapshot().Version(), v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestCoordinatorGroup runs three coordinators with their own Raft stores
// over loopback TCP: DDL on a follower, failover, a member catching up from
// a snapshot, a restart of the whole group, and the loss of quorum.
func TestCoordinatorGroup(t *testing.T) {
	g := harness.StartGroup(t, harness.GroupOptions{Coordinators: 3, SnapshotThreshold: 8, TrailingLogs: 4})
	leader := g.Leader(t)
	follower := (leader + 1) % 3
	other := (leader + 2) % 3

	t.Run("DDLOnFollowerVisibleOnAll", func(t *testing.T) {
		if err := groupExec(g.URL(follower),
			"CREATE TABLE grp_t (id int PRIMARY KEY, v text)",
			"INSERT INTO grp_t SELECT g, 'v' || g FROM generate_series(1, 10) g"); err != nil {
			t.Fatal(err)
		}
		// The follower's own catalog has the table when the statement
		// returns; the others get it through the log.
		if _, ok := g.Coords[follower].Store.Snapshot().Table("public", "grp_t"); !ok {
			t.Fatalf("follower's catalog lacks the table its own DDL created")
		}
		v := g.Coords[follower].Store.Snapshot().Version()
		for i := range 3 {
			waitCatalog(t, g.Coords[i], v)
			if n := groupQueryInt(t, g.URL(i), "SELECT count(*) FROM grp_t"); n != 10 {
				t.Errorf("coordinator %d: count = %d, want 10", i, n)
			}
		}
		if n := groupQueryInt(t, g.URL(other), "SELECT count(*) FROM distgres_cluster() WHERE voter"); n != 3 {
			t.Errorf("distgres_cluster() voters = %d, want 3", n)
		}
		if n := groupQueryInt(t, g.URL(other), "SELECT count(*) FROM distgres_cluster() c WHERE c.is_leader AND c.member = 'coord"+fmt.Sprint(leader+1)+"'"); n != 1 {
			t.Errorf("distgres_cluster() does not name coord%d as the leader", leader+1)
		}
	})

	t.Run("PlanCacheFollowsOtherCoordinatorsDDL", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, g.URL(other))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		count := func() int64 {
			var n int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM grp_t", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil {
				t.Fatalf("count through a cached plan: %v", err)
			}
			return n
		}
		count() // plan cached in this session
		if err := groupExec(g.URL(follower),
			"DROP TABLE grp_t",
			"CREATE TABLE grp_t (id int PRIMARY KEY, v text) DISTRIBUTE BY REPLICATION",
			"INSERT INTO grp_t VALUES (1, 'a'), (2, 'b'), (3, 'c')"); err != nil {
			t.Fatal(err)
		}
		waitCatalog(t, g.Coords[other], g.Coords[follower].Store.Snapshot().Version())
		if n := count(); n != 3 {
			t.Fatalf("count after the table was recreated elsewhere = %d, want 3", n)
		}
	})

	old := leader
	t.Run("Failover", func(t *testing.T) {
		g.Stop(old)
		leader = g.Leader(t)
		if leader == old {
			t.Fatalf("stopped coordinator still leads")
		}
		for _, i := range []int{(old + 1) % 3, (old + 2) % 3} {
			name := fmt.Sprintf("grp_after_%d", i)
			if err := groupExec(g.URL(i), "CREATE TABLE "+name+" (id bigint PRIMARY KEY)", "INSERT INTO "+name+" VALUES (1), (2)"); err != nil {
				t.Fatalf("DDL on coordinator %d after failover: %v", i, err)
			}
		}
	})

	t.Run("RejoinCatchesUpFromSnapshot", func(t *testing.T) {
		// More changes than the trailing log keeps, then a snapshot: the
		// stopped member can only catch up by installing it.
		for i := range 4 {
			if err := groupExec(g.URL(leader), fmt.Sprintf("CREATE TABLE grp_many_%d (id int)", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := g.Coords[leader].Store.CompactLog(); err != nil {
			t.Fatal(err)
		}
		c := g.Start(t, old)
		waitCatalog(t, c, g.Coords[leader].Store.Snapshot().Version())
		if c.Store.InstalledSnapshots() < 1 {
			t.Fatalf("the rejoining coordinator caught up without installing the leader's snapshot")
		}
		if n := groupQueryInt(t, g.URL(old), "SELECT count(*) FROM grp_many_3"); n != 0 {
			t.Fatalf("count = %d", n)
		}
		if n := groupQueryInt(t, g.URL(old), "SELECT count(*) FROM "+fmt.Sprintf("grp_after_%d", (old+1)%3)); n != 2 {
			t.Fatalf("rejoined coordinator: count = %d, want 2", n)
		}
	})

	t.Run("RestartAll", func(t *testing.T) {
		want := g.Coords[leader].Store.Snapshot()
		for i := range 3 {
			g.Stop(i)
		}
		g.StartAll(t)
		leader = g.Leader(t)
		for i := range 3 {
			got := g.Coords[i].Store.Snapshot()
			for _, tb := range want.Tables() {
				if _, ok := got.Table(tb.Schema, tb.Name); !ok {
					t.Errorf("coordinator %d lost table %s after restart", i, tb.QualifiedName())
				}
			}
			if n := groupQueryInt(t, g.URL(i), "SELECT count(*) FROM grp_t"); n != 3 {
				t.Errorf("coordinator %d: count = %d after restart, want 3", i, n)
			}
		}
	})

	t.Run("NoQuorum", func(t *testing.T) {
		keep := leader
		for i := range 3 {
			if i != keep {
				g.Stop(i)
			}
		}
		err := groupExec(g.URL(keep), "CREATE TABLE grp_noquorum (id int)")
		if sqlState(err) != "57P03" {
			t.Fatalf("DDL without quorum: %v, want SQLSTATE 57P03", err)
		}
		// Queries go on from the last catalog.
		if n := groupQueryInt(t, g.URL(keep), "SELECT count(*) FROM grp_t"); n != 3 {
			t.Fatalf("query without quorum: count = %d, want 3", n)
		}
		// A write on one node commits on its own; one on several nodes
		// needs its commit decision logged, so it is refused and rolled
		// back everywhere.
		single := fmt.Sprintf("grp_after_%d", (old+1)%3)
		if err := groupExec(g.URL(keep), "INSERT INTO "+single+" VALUES (3)"); err != nil {
			t.Fatalf("single-node write without quorum: %v", err)
		}
		if err := groupExec(g.URL(keep), "INSERT INTO grp_t VALUES (4, 'd')"); sqlState(err) != "57P03" {
			t.Fatalf("multi-node write without quorum: %v, want 57P03", err)
		}
		if n := groupQueryInt(t, g.URL(keep), "SELECT count(*) FROM grp_t"); n != 3 {
			t.Fatalf("after a refused multi-node write: count = %d, want 3", n)
		}
		g.StartAll(t)
		g.Leader(t)
		// The refused statement's begin record may still commit now that
		// the group has its quorum back; the coordinator takes it back.
		deadline := time.Now().Add(15 * time.Second)
		for len(g.Coords[keep].Store.Snapshot().GlobalTxs()) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("global transactions left in the catalog: %+v", g.Coords[keep].Store.Snapshot().GlobalTxs())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := groupExec(g.URL(keep), "CREATE TABLE grp_noquorum (id int)"); err != nil {
			t.Fatalf("DDL after the quorum is back: %v", err)
		}
	})
}
