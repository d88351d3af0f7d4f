package test

// End-to-end tests with pgbench against the coordinator: custom scripts in
// the three query modes (simple, extended, prepared), the built-in
// select-only script and a TPC-B-like read-write script whose invariants
// are checked afterwards.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

const (
	pgbenchAccounts = 20000
	pgbenchClients  = 2
	pgbenchTxns     = 200
)

// pgbenchRun runs pgbench with args against url and returns its output
// and exit code, with an upper bound on its run time.
func pgbenchRun(t *testing.T, url string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is required: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, harness.URL(url))...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "LC_ALL=C", "PGCONNECT_TIMEOUT=10")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("pgbench %q did not finish within 40s:\n%s\n%s", args, out.String(), errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pgbench %q: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// pgbenchCheck asserts a clean pgbench run of clients*txns transactions.
func pgbenchCheck(t *testing.T, what, stdout, stderr string, code, clients, txns int) {
	t.Helper()
	ok := true
	if code != 0 {
		t.Errorf("%s: pgbench exit code %d", what, code)
		ok = false
	}
	want := fmt.Sprintf("number of transactions actually processed: %d/%d\n", clients*txns, clients*txns)
	if !strings.Contains(stdout, want) {
		t.Errorf("%s: output lacks %q", what, strings.TrimSpace(want))
		ok = false
	}
	if !regexp.MustCompile(`(?m)^number of failed transactions: 0 \(0\.000%\)$`).MatchString(stdout) {
		t.Errorf("%s: output lacks \"number of failed transactions: 0\"", what)
		ok = false
	}
	if strings.Contains(stderr, "error") || strings.Contains(stderr, "aborted") {
		t.Errorf("%s: errors reported", what)
		ok = false
	}
	if !ok {
		t.Logf("%s: stdout:\n%s\nstderr:\n%s", what, stdout, stderr)
	}
}

func pgbenchRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pgbenchFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPgbench(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, harness.URL(c.ClientURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))")
	exec("CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))")
	exec("CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))")
	exec("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))")
	// Load the accounts with multi-row INSERTs of 1000 rows; abalance is
	// aid % 1000 so that scripts can check what they read.
	for start := 1; start <= pgbenchAccounts; start += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO pgbench_accounts (aid, bid, abalance, filler) VALUES ")
		for aid := start; aid < start+1000; aid++ {
			if aid > start {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 1, %d, '')", aid, aid%1000)
		}
		tag, err := conn.Exec(ctx, b.String())
		if err != nil {
			t.Fatalf("loading accounts %d..: %v", start, err)
		}
		if tag.RowsAffected() != 1000 {
			t.Fatalf("loading accounts %d..: %s", start, tag)
		}
	}
	exec("INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)")
	exec("INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 0), (5, 1, 0), (6, 1, 0), (7, 1, 0), (8, 1, 0), (9, 1, 0), (10, 1, 0)")
	var n, sum int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(abalance) FROM pgbench_accounts").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	// sum of aid % 1000 over 1..20000: 20 times 0+1+...+999
	if n != pgbenchAccounts || sum != 20*499500 {
		t.Fatalf("loaded %d accounts with sum(abalance) %d, want %d and %d", n, sum, pgbenchAccounts, 20*499500)
	}

	// Every read checks the row it got: a missing row fails \gset, a
	// wrong one fails the division.
	selectScript := pgbenchFile(t, "select.sql", fmt.Sprintf(`\set aid random(1, %d)
SELECT aid AS got, abalance AS bal FROM pgbench_accounts WHERE aid = :aid \gset
SELECT 1 / ((:got::int = :aid::int AND :bal::int = :aid::int %% 1000)::int);
`, pgbenchAccounts))
	for _, mode := range []string{"simple", "extended", "prepared"} {
		t.Run("Select/"+mode, func(t *testing.T) {
			out, errOut, code := pgbenchRun(t, c.ClientURL, "-n", "-f", selectScript, "-M", mode,
				"-c", fmt.Sprint(pgbenchClients), "-j", fmt.Sprint(pgbenchClients), "-t", fmt.Sprint(pgbenchTxns))
			pgbenchCheck(t, "select script -M "+mode, out, errOut, code, pgbenchClients, pgbenchTxns)
			if !strings.Contains(out, "query mode: "+mode+"\n") {
				t.Errorf("pgbench did not run in mode %s:\n%s", mode, out)
			}
		})
	}

	// The check above catches a missing row (negative control).
	t.Run("Select/MissingRowFails", func(t *testing.T) {
		missing := pgbenchFile(t, "missing.sql", strings.Replace(pgbenchRead(t, selectScript),
			fmt.Sprintf("random(1, %d)", pgbenchAccounts), fmt.Sprintf("random(%d, %d)", pgbenchAccounts+1, pgbenchAccounts+10), 1))
		out, errOut, code := pgbenchRun(t, c.ClientURL, "-n", "-f", missing, "-M", "extended", "-c", "1", "-t", "1")
		if code == 0 || !strings.Contains(errOut, "expected one row, got 0") {
			t.Errorf("reading a missing row: exit code %d, want non-zero and \"expected one row, got 0\":\n%s\n%s", code, out, errOut)
		}
	})

	// The built-in select-only script reads the scale from
	// pgbench_branches (count(*) = 1) and picks aid in 1..100000, so most
	// reads find no row here; it must still run without errors.
	for _, mode := range []string{"simple", "extended", "prepared"} {
		t.Run("BuiltinSelectOnly/"+mode, func(t *testing.T) {
			out, errOut, code := pgbenchRun(t, c.ClientURL, "-n", "-S", "-M", mode,
				"-c", fmt.Sprint(pgbenchClients), "-j", fmt.Sprint(pgbenchClients), "-t", fmt.Sprint(pgbenchTxns))
			pgbenchCheck(t, "built-in -S -M "+mode, out, errOut, code, pgbenchClients, pgbenchTxns)
			if !strings.Contains(out, "transaction type: <builtin: select only>\n") || !strings.Contains(out, "scaling factor: 1\n") {
				t.Errorf("unexpected pgbench header:\n%s", out)
			}
		})
	}

	// A TPC-B-like read-write transaction over accounts that exist: the
	// balances of accounts, tellers and branches and the history must
	// agree afterwards.
	tpcb := pgbenchFile(t, "tpcb.sql", fmt.Sprintf(`\set aid random(1, %d)
\set tid random(1, 10)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, 1, :aid, :delta, CURRENT_TIMESTAMP);
END;
`, pgbenchAccounts))
	const tpcbTxns = 50
	modes := []string{"simple", "extended", "prepared"}
	for _, mode := range modes {
		t.Run("TPCB/"+mode, func(t *testing.T) {
			out, errOut, code := pgbenchRun(t, c.ClientURL, "-n", "-f", tpcb, "-M", mode,
				"-c", fmt.Sprint(pgbenchClients), "-j", fmt.Sprint(pgbenchClients), "-t", fmt.Sprint(tpcbTxns))
			pgbenchCheck(t, "TPC-B-like script -M "+mode, out, errOut, code, pgbenchClients, tpcbTxns)
		})
	}
	t.Run("TPCB/Invariants", func(t *testing.T) {
		var hist, delta, accounts, tellers, branches int64
		if err := conn.QueryRow(ctx, "SELECT count(*), sum(delta) FROM pgbench_history").Scan(&hist, &delta); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT sum(abalance) FROM pgbench_accounts").Scan(&accounts); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT sum(tbalance) FROM pgbench_tellers").Scan(&tellers); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT bbalance FROM pgbench_branches WHERE bid = 1").Scan(&branches); err != nil {
			t.Fatal(err)
		}
		if want := int64(len(modes) * pgbenchClients * tpcbTxns); hist != want {
			t.Errorf("pgbench_history has %d rows, want %d", hist, want)
		}
		if accounts-20*499500 != delta || tellers != delta || branches != delta {
			t.Errorf("balances disagree: accounts changed by %d, tellers %d, branches %d, history deltas %d",
				accounts-20*499500, tellers, branches, delta)
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pgbench_accounts").Scan(&n); err != nil || n != pgbenchAccounts {
			t.Errorf("accounts after the run: %d, %v", n, err)
		}
	})
}

// TestPgbenchInit runs pgbench unchanged: -i (its tables land by the
// default distribution rule and are loaded with COPY), then the built-in
// TPC-B-like script in each query mode, and checks the balances agree.
func TestPgbenchInit(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	stdout, stderr, code := pgbenchRun(t, c.ClientURL, "-i", "-s", "2", "-q")
	if code != 0 {
		t.Fatalf("pgbench -i: exit %d\n%s\n%s", code, stdout, stderr)
	}
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	var accounts, branches, tellers int64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers)").Scan(&accounts, &branches, &tellers); err != nil {
		t.Fatal(err)
	}
	if accounts != 200000 || branches != 2 || tellers != 20 {
		t.Fatalf("after pgbench -i -s 2: %d accounts, %d branches, %d tellers", accounts, branches, tellers)
	}
	if _, ok := c.Catalog().Snapshot().Table("public", "pgbench_accounts"); !ok {
		t.Fatal("pgbench_accounts is not a distributed table")
	}
	for _, mode := range []string{"simple", "extended", "prepared"} {
		stdout, stderr, code := pgbenchRun(t, c.ClientURL, "-n", "-M", mode, "-c", "2", "-t", "100")
		pgbenchCheck(t, "TPC-B-like -M "+mode, stdout, stderr, code, 2, 100)
		var a, b, tl, h, hn int64
		if err := conn.QueryRow(ctx, `SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches),
			(SELECT sum(tbalance) FROM pgbench_tellers), (SELECT coalesce(sum(delta), 0) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)`).Scan(&a, &b, &tl, &h, &hn); err != nil {
			t.Fatal(err)
		}
		if a != b || b != tl || tl != h {
			t.Errorf("-M %s: balances disagree: accounts %d, branches %d, tellers %d, history %d", mode, a, b, tl, h)
		}
		if hn == 0 || hn%200 != 0 {
			t.Errorf("-M %s: %d history rows, want a multiple of 200", mode, hn)
		}
	}
}
