package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// movableShard returns a shard of table accounts and a node it is not on.
func movableShard(t *testing.T, ctx context.Context, db *pgx.Conn) (int64, string, string) {
	t.Helper()
	var id int64
	var source, target string
	err := db.QueryRow(ctx, `SELECT s.shard_id, s.nodes, n.name FROM distgres_shards() s, distgres_nodes() n
		WHERE s.table_name = 'public.accounts' AND n.name <> s.nodes ORDER BY s.shard_index, n.name LIMIT 1`).Scan(&id, &source, &target)
	if err != nil {
		t.Fatal(err)
	}
	return id, source, target
}

// waitNoMoves waits until the catalog records no move.
func waitNoMoves(t *testing.T, ctx context.Context, db *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for queryInt(t, ctx, db, "SELECT count(*) FROM distgres_moves()") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("moves still recorded a minute later")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func placementOf(t *testing.T, ctx context.Context, db *pgx.Conn, shard int64) string {
	t.Helper()
	var nodes string
	if err := db.QueryRow(ctx, "SELECT nodes FROM distgres_shards() WHERE shard_id = $1", shard).Scan(&nodes); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// TestShardMoveCoordinatorCrash kills the coordinator process at each
// step of a move (a failpoint makes it exit there) and checks that the
// restarted coordinator cleans up: the data are intact, the placement is
// the source before the switch and the target after it, writes flow, and
// nothing is left on the nodes.
func TestShardMoveCoordinatorCrash(t *testing.T) {
	bin := upBuild(t)
	dir, data := harness.StartDataNodes(t, 3)
	listen, raftAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	url := "postgres://postgres@" + listen + "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	setup := startCrashCoordinator(t, bin, dir, listen, raftAddr, data, "")
	db, err := pgx.Connect(ctx, harness.URL(url))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range workloadSchema {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close(ctx)
	setup.stop(t)
	for _, step := range []string{"move-copying", "move-frozen", "move-switched"} {
		t.Run(step, func(t *testing.T) {
			p := startCrashCoordinator(t, bin, dir, listen, raftAddr, data, step, "--recovery-interval", "500ms")
			db := mustConnect(t, ctx, url)
			shard, source, target := movableShard(t, ctx, db)
			_, err := db.Exec(ctx, fmt.Sprintf("SELECT distgres_move_shard(%d, '%s')", shard, target))
			if err == nil {
				t.Fatal("the move succeeded; the failpoint should have ended the coordinator")
			}
			p.waitCrash(t)
			p = startCrashCoordinator(t, bin, dir, listen, raftAddr, data, "", "--recovery-interval", "500ms")
			defer p.stop(t)
			db = mustConnect(t, ctx, url)
			waitNoMoves(t, ctx, db)
			want := source
			if step == "move-switched" {
				want = target
			}
			if got := placementOf(t, ctx, db, shard); got != want {
				t.Errorf("shard %d is on %s after recovery, want %s", shard, got, want)
			}
			if _, err := db.Exec(ctx, "UPDATE accounts SET balance = balance + 1"); err != nil {
				t.Fatalf("writes after recovery: %v", err)
			}
			if n := queryInt(t, ctx, db, "SELECT count(*) FROM accounts"); n != 3000 {
				t.Errorf("accounts has %d rows, want 3000", n)
			}
			if n := queryInt(t, ctx, db, "SELECT count(*) FROM events"); n != 6000 {
				t.Errorf("events has %d rows, want 6000", n)
			}
			checkPlacements(t, ctx, db)
		})
	}
}

// ctlBuild builds distgresctl.
func ctlBuild(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	bin := filepath.Join(out, "distgresctl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/distgresctl")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/distgresctl: %v\n%s", err, b)
	}
	return bin
}

// ctl runs distgresctl against url and returns its output and exit code.
func ctl(t *testing.T, bin, url string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DISTGRES_URL="+url)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestShardMoveInterrupted stops distgresctl during the copy of a shard
// move, with Ctrl-C (the coordinator rolls the move back) and with kill
// -9 (the coordinator finishes it), and checks the data and the nodes.
func TestShardMoveInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := ctlBuild(t)
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 2})
	db := mustConnect(t, ctx, c.ClientURL)
	for _, s := range workloadSchema {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Enough rows that the copy takes a while.
	if _, err := db.Exec(ctx, "INSERT INTO events SELECT g % 3000 + 1, repeat('x', 200) FROM generate_series(1, 400000) g"); err != nil {
		t.Fatal(err)
	}
	port := newDataNode(t)
	if out, code := ctl(t, bin, c.ClientURL, "node", "add", "dn3", fmt.Sprintf("127.0.0.1:%d", port)); code != 0 {
		t.Fatalf("node add: exit %d: %s", code, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			shard, source, target := movableShard(t, ctx, db)
			cmd := exec.Command(bin, "shard", "move", fmt.Sprint(shard), "--to", target)
			cmd.Env = append(os.Environ(), "DISTGRES_URL="+c.ClientURL)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for queryInt(t, ctx, db, "SELECT count(*) FROM distgres_moves() WHERE phase = 'copying'") == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the move never reached its copy")
				}
				time.Sleep(5 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || (sig == syscall.SIGINT && ee.ExitCode() != 1) {
				t.Fatalf("distgresctl ended with %v, want exit status 1 after Ctrl-C or death by signal", err)
			}
			waitNoMoves(t, ctx, db)
			got := placementOf(t, ctx, db, shard)
			switch {
			case sig == syscall.SIGINT && got != source:
				t.Errorf("after Ctrl-C shard %d is on %s, want it left on %s", shard, got, source)
			case got != source && got != target:
				t.Errorf("shard %d is on %s, want %s or %s", shard, got, source, target)
			}
			t.Logf("shard %d: %s -> %s, now on %s", shard, source, target, got)
			if n := queryInt(t, ctx, db, "SELECT count(*) FROM events"); n != 406000 {
				t.Errorf("events has %d rows, want 406000", n)
			}
			checkPlacements(t, ctx, db)
		})
	}
}

// TestDrainAndRemoveUnderLoad empties a node with distgresctl node drain
// while clients write, then removes it.
func TestDrainAndRemoveUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := ctlBuild(t)
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	load := startWorkload(t, ctx, c.ClientURL, 6)
	time.Sleep(500 * time.Millisecond)
	if out, code := ctl(t, bin, c.ClientURL, "node", "remove", "node3"); code != 1 {
		t.Errorf("node remove of a node with shards: exit %d, want 1: %s", code, out)
	}
	start := time.Now()
	out, code := ctl(t, bin, c.ClientURL, "node", "drain", "node3")
	if code != 0 {
		t.Fatalf("node drain: exit %d: %s", code, out)
	}
	t.Logf("drain under load took %v: %s", time.Since(start).Round(time.Millisecond), out)
	if out, code := ctl(t, bin, c.ClientURL, "node", "remove", "node3"); code != 0 {
		t.Fatalf("node remove: exit %d: %s", code, out)
	}
	time.Sleep(500 * time.Millisecond)
	load.finish(t, ctx, c.Coordinator.Store.Snapshot())
	db := mustConnect(t, ctx, c.ClientURL)
	if n := queryInt(t, ctx, db, "SELECT count(*) FROM distgres_nodes()"); n != 2 {
		t.Errorf("%d nodes after remove, want 2", n)
	}
	checkPlacements(t, ctx, db)
	out, code = ctl(t, bin, c.ClientURL, "node", "list", "--json")
	if code != 0 || !json.Valid([]byte(out)) {
		t.Errorf("node list --json: exit %d: %s", code, out)
	}
}
