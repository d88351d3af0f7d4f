package test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// bankOutcome is what a client saw of one transfer.
type bankOutcome int

const (
	bankCommitted bankOutcome = iota // COMMIT answered COMMIT
	bankFailed                       // an error that means it rolled back
	bankUnknown                      // the answer to COMMIT was lost, or SQLSTATE 08007
)

type bankTransfer struct {
	tid, src, dst, amt int64
	outcome            bankOutcome
}

const (
	bankAccounts = 20
	bankInitial  = 1000
	bankClients  = 10
)

// TestBank moves money between accounts on different data nodes with 10
// concurrent clients (half through the simple protocol, half through the
// extended one) while a helper kills -9 a data node or the coordinator at
// random moments, or makes the coordinator exit between PREPARE and the
// commit decision, or between the decision and COMMIT PREPARED. After
// recovery the money adds up, every transfer a client saw commit is
// there, none it saw fail is, and no prepared transaction is left.
//
// DISTGRES_BANK_SECONDS sets the run time (default 60).
func TestBank(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute with the distgres binary")
	}
	runFor := 60 * time.Second
	if s, err := strconv.Atoi(os.Getenv("DISTGRES_BANK_SECONDS")); err == nil && s > 0 {
		runFor = time.Duration(s) * time.Second
	}
	bin := upBuild(t)
	dir, data := harness.StartDataNodes(t, 2)
	listen, raftAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	url := "postgres://postgres@" + listen + "/postgres?sslmode=disable"
	armDir := t.TempDir()
	armPrepared, armDecided := filepath.Join(armDir, "prepared"), filepath.Join(armDir, "decided")
	failpoints := "prepared@" + armPrepared + ",decided@" + armDecided

	var coordMu sync.Mutex
	coord := startCrashCoordinator(t, bin, dir, listen, raftAddr, data, failpoints, "--recovery-interval", "1s")
	restartCoordinator := func() {
		coordMu.Lock()
		defer coordMu.Unlock()
		coord = startCrashCoordinator(t, bin, dir, listen, raftAddr, data, failpoints, "--recovery-interval", "1s")
	}

	if err := groupExec(url,
		"CREATE TABLE bank_acc (id int PRIMARY KEY, bal bigint NOT NULL)",
		"CREATE TABLE bank_xfer (tid bigint PRIMARY KEY, src int NOT NULL, dst int NOT NULL, amt int NOT NULL)",
		fmt.Sprintf("INSERT INTO bank_acc SELECT g, %d FROM generate_series(1, %d) g", bankInitial, bankAccounts)); err != nil {
		t.Fatal(err)
	}
	onNode := bankAccountsByNode(t, data)
	if len(onNode[0]) == 0 || len(onNode[1]) == 0 {
		t.Fatalf("accounts are not on both nodes: %v", onNode)
	}

	ctx, stop := context.WithTimeout(context.Background(), runFor)
	defer stop()
	var mu sync.Mutex
	var transfers []bankTransfer
	var wg sync.WaitGroup
	for client := range bankClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mode := pgx.QueryExecModeSimpleProtocol
			if client%2 == 1 {
				mode = pgx.QueryExecModeCacheStatement
			}
			rng := rand.New(rand.NewPCG(uint64(client), 42))
			var conn *pgx.Conn
			defer func() {
				if conn != nil {
					conn.Close(context.Background())
				}
			}()
			for seq := int64(1); ctx.Err() == nil; seq++ {
				if conn == nil || conn.IsClosed() {
					conn = bankConnect(ctx, url, mode)
					if conn == nil {
						continue
					}
				}
				a := onNode[0][rng.IntN(len(onNode[0]))]
				b := onNode[1][rng.IntN(len(onNode[1]))]
				if rng.IntN(2) == 0 {
					a, b = b, a
				}
				x := bankTransfer{tid: int64(client)*1_000_000_000 + seq, src: a, dst: b, amt: int64(1 + rng.IntN(50))}
				x.outcome = bankTransferOnce(conn, x)
				mu.Lock()
				transfers = append(transfers, x)
				mu.Unlock()
			}
		}()
	}

	// The helper: one disruption every 2 to 5 seconds.
	actions := map[string]int{}
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		rng := rand.New(rand.NewPCG(7, 7))
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(2000+rng.IntN(3000)) * time.Millisecond):
			}
			switch rng.IntN(4) {
			case 0:
				i := rng.IntN(len(data.Servers))
				s := data.Servers[i]
				port := s.Port()
				syscall.Kill(s.PID(), syscall.SIGKILL)
				time.Sleep(time.Duration(300+rng.IntN(1000)) * time.Millisecond)
				bankRestartNode(t, s, port)
				actions["kill -9 data node"]++
			case 1:
				coordMu.Lock()
				c := coord
				coordMu.Unlock()
				c.cmd.Process.Kill()
				<-c.done
				restartCoordinator()
				actions["kill -9 coordinator"]++
			case 2, 3:
				name, arm := "coordinator exits between PREPARE and the decision", armPrepared
				if rng.IntN(2) == 0 {
					name, arm = "coordinator exits between the decision and COMMIT PREPARED", armDecided
				}
				os.WriteFile(arm, nil, 0o644)
				coordMu.Lock()
				c := coord
				coordMu.Unlock()
				select {
				case <-c.done:
					actions[name]++
				case <-time.After(10 * time.Second):
					os.Remove(arm)
					c.cmd.Process.Kill()
					<-c.done
					actions["failpoint not reached; kill -9 coordinator"]++
				}
				restartCoordinator()
			}
		}
	}()
	wg.Wait()
	<-chaosDone

	// Recovery: the coordinator's own passes, and one on demand.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := groupExec(url, "SELECT distgres_recover_transactions()"); err == nil && nodeCount(t, data, "postgres", preparedCount) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prepared transactions are left on the data nodes after recovery\ncoordinator stderr:\n%s", coord.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// What the clients saw against what the database holds.
	present := map[int64]bankTransfer{}
	balances := map[int64]int64{}
	{
		c, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		rows, err := c.Query(context.Background(), "SELECT tid, src, dst, amt FROM bank_xfer")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var x bankTransfer
			if err := rows.Scan(&x.tid, &x.src, &x.dst, &x.amt); err != nil {
				t.Fatal(err)
			}
			present[x.tid] = x
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows, err = c.Query(context.Background(), "SELECT id, bal FROM bank_acc")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, bal int64
			if err := rows.Scan(&id, &bal); err != nil {
				t.Fatal(err)
			}
			balances[id] = bal
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for _, b := range balances {
		total += b
	}
	counts := map[bankOutcome]int{}
	lost, phantom, unknownPresent := 0, 0, 0
	for _, x := range transfers {
		counts[x.outcome]++
		_, ok := present[x.tid]
		switch {
		case x.outcome == bankCommitted && !ok:
			lost++
			if lost <= 5 {
				t.Errorf("transfer %d was acknowledged as committed but is missing", x.tid)
			}
		case x.outcome == bankFailed && ok:
			phantom++
			if phantom <= 5 {
				t.Errorf("transfer %d failed for its client but is present", x.tid)
			}
		case x.outcome == bankUnknown && ok:
			unknownPresent++
		}
	}
	// Every account's balance is its opening balance moved by exactly the
	// transfers that are present: no transfer is half applied.
	want := map[int64]int64{}
	for id := int64(1); id <= bankAccounts; id++ {
		want[id] = bankInitial
	}
	for _, x := range present {
		want[x.src] -= x.amt
		want[x.dst] += x.amt
	}
	for id, w := range want {
		if balances[id] != w {
			t.Errorf("account %d: balance %d, but the transfers present say %d", id, balances[id], w)
		}
	}
	if total != bankAccounts*bankInitial {
		t.Errorf("total balance %d, want %d", total, bankAccounts*bankInitial)
	}
	var did []string
	for a, n := range actions {
		did = append(did, fmt.Sprintf("%s: %d", a, n))
	}
	t.Logf("bank: %s with %d clients; disruptions: %s", runFor, bankClients, strings.Join(did, ", "))
	t.Logf("bank: %d transfers attempted: %d committed, %d failed (rolled back), %d with an unknown outcome (%d of them committed); %d in the table; total balance %d; lost %d, phantom %d; no prepared transactions left",
		len(transfers), counts[bankCommitted], counts[bankFailed], counts[bankUnknown], unknownPresent, len(present), total, lost, phantom)
	if counts[bankCommitted] == 0 {
		t.Errorf("no transfer committed")
	}
}

// bankConnect connects, retrying while the coordinator restarts.
func bankConnect(ctx context.Context, url string, mode pgx.QueryExecMode) *pgx.Conn {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil
	}
	cfg.DefaultQueryExecMode = mode
	cfg.ConnectTimeout = 5 * time.Second
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			return conn
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// bankTransferOnce runs one transfer and says what its client can know of
// the outcome.
func bankTransferOnce(conn *pgx.Conn, x bankTransfer) bankOutcome {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, second := x.src, x.dst
	d1, d2 := -x.amt, x.amt
	if first > second { // a fixed lock order: no deadlocks between clients
		first, second, d1, d2 = second, first, d2, d1
	}
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{"BEGIN", nil},
		{"UPDATE bank_acc SET bal = bal + $1 WHERE id = $2", []any{d1, first}},
		{"UPDATE bank_acc SET bal = bal + $1 WHERE id = $2", []any{d2, second}},
		{"INSERT INTO bank_xfer (tid, src, dst, amt) VALUES ($1, $2, $3, $4)", []any{x.tid, x.src, x.dst, x.amt}},
	} {
		if _, err := conn.Exec(ctx, st.sql, st.args...); err != nil {
			// Nothing commits before COMMIT: a block cut short rolls back.
			if !conn.IsClosed() {
				conn.Exec(ctx, "ROLLBACK")
			}
			return bankFailed
		}
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err == nil {
		if tag.String() == "COMMIT" {
			return bankCommitted
		}
		return bankFailed
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code != "08007" {
		return bankFailed
	}
	return bankUnknown
}

// bankAccountsByNode returns the account IDs stored on each data node.
func bankAccountsByNode(t *testing.T, data *cluster.DataNodes) [][]int64 {
	t.Helper()
	ctx := context.Background()
	out := make([][]int64, len(data.Servers))
	for i, s := range data.Servers {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port(), cluster.ShardDatabase))
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'bank\\_acc\\_%'")
		if err == nil {
			tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			rows, err := conn.Query(ctx, "SELECT id::bigint FROM "+tb)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				t.Fatal(err)
			}
			out[i] = append(out[i], ids...)
		}
		conn.Close(ctx)
	}
	return out
}

// bankRestartNode starts a killed data node again on its port (its old
// backends may take a moment to go away).
func bankRestartNode(t *testing.T, s interface {
	Start(context.Context, int) error
}, port int) {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err = s.Start(ctx, port)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("restarting a data node: %v", err)
}
