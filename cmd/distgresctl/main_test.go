package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func noEnv(string) string { return "" }

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // a part of stdout
		stderr string // a part of stderr
	}{
		{args: nil, code: 2, stderr: "no command"},
		{args: []string{"help"}, code: 0, stdout: "usage: distgresctl"},
		{args: []string{"-h"}, code: 0, stdout: "shard move SHARD --to NODE"},
		{args: []string{"--help"}, code: 0, stdout: "usage: distgresctl"},
		{args: []string{"node", "list", "-h"}, code: 0, stdout: "usage: distgresctl"},
		{args: []string{"bogus"}, code: 2, stderr: `unknown command "bogus"`},
		{args: []string{"node"}, code: 2, stderr: "node: missing subcommand"},
		{args: []string{"node", "bogus"}, code: 2, stderr: `node: unknown subcommand "bogus"`},
		{args: []string{"--bogus", "status"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"node", "list", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{args: []string{"node", "list", "extra"}, code: 2, stderr: `node list: unexpected argument "extra"`},
		{args: []string{"node", "add", "n1"}, code: 2, stderr: "node add: want NAME HOST:PORT\nusage: distgresctl node add NAME HOST:PORT"},
		{args: []string{"node", "add", "n1", "h:1", "x"}, code: 2, stderr: "node add: want NAME HOST:PORT"},
		{args: []string{"node", "add", "n1", "host"}, code: 2, stderr: `node add: want HOST:PORT, got "host"`},
		{args: []string{"node", "add", "n1", "host:99999"}, code: 2, stderr: "bad port"},
		{args: []string{"node", "drain"}, code: 2, stderr: "node drain: want NAME"},
		{args: []string{"node", "remove", "a", "b"}, code: 2, stderr: "node remove: want NAME"},
		{args: []string{"node", "activate"}, code: 2, stderr: "node activate: want NAME"},
		{args: []string{"shard", "move", "abc", "--to", "n2"}, code: 2, stderr: `shard id "abc" is not a number`},
		{args: []string{"shard", "move", "7"}, code: 2, stderr: "missing --to NODE"},
		{args: []string{"shard", "move", "--to", "n2"}, code: 2, stderr: "shard move: want SHARD --to NODE"},
		{args: []string{"shard", "list", "--table"}, code: 2, stderr: "flag needs an argument: -table"},
		{args: []string{"rebalance", "--strategy", "random"}, code: 2, stderr: `--strategy must be shard-count or size, not "random"`},
		{args: []string{"rebalance", "--max-parallel", "0"}, code: 2, stderr: "--max-parallel must be at least 1"},
		{args: []string{"rebalance", "--max-parallel", "two"}, code: 2, stderr: "invalid value"},
		{args: []string{"status", "now"}, code: 2, stderr: `status: unexpected argument "now"`},
		{args: []string{"--json"}, code: 2, stderr: "no command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, noEnv)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if tt.code == 2 && !strings.Contains(stderr.String(), "usage: distgresctl") {
				t.Errorf("stderr %q has no usage text", stderr.String())
			}
			if tt.code == 0 && stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}

func TestRunConnectionErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		stderr string
	}{
		{
			name:   "bad DISTGRES_URL",
			args:   []string{"node", "list"},
			env:    map[string]string{"DISTGRES_URL": "postgres://%zz"},
			stderr: "distgresctl: connection string:",
		},
		{
			name:   "the flag wins over DISTGRES_URL",
			args:   []string{"node", "list", "--url", "postgres://%zz"},
			env:    map[string]string{"DISTGRES_URL": "postgres://127.0.0.1:1/x"},
			stderr: "distgresctl: connection string:",
		},
		{
			name:   "nothing listens",
			args:   []string{"-d", "postgres://127.0.0.1:1/x?connect_timeout=5", "status"},
			stderr: "distgresctl: connect:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, func(k string) string { return tt.env[k] })
			if code != 1 {
				t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
			}
			if !strings.HasPrefix(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to start with %q", stderr.String(), tt.stderr)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		args []string
		cmd  string
		opts options
		act  string // the action, as %#v prints it for a call or list: its SQL
	}{
		{
			args: []string{"node", "list"},
			cmd:  "node list",
			act:  nodeListSQL,
		},
		{
			args: []string{"--json", "-d", "postgres://c1/db", "node", "list"},
			cmd:  "node list",
			opts: options{url: "postgres://c1/db", json: true},
			act:  nodeListSQL,
		},
		{
			args: []string{"node", "list", "--json", "--url=postgres://c2/db"},
			cmd:  "node list",
			opts: options{url: "postgres://c2/db", json: true},
			act:  nodeListSQL,
		},
		{
			args: []string{"--url", "postgres://c1/db", "node", "list", "-d", "postgres://c2/db"},
			cmd:  "node list",
			opts: options{url: "postgres://c2/db"},
			act:  nodeListSQL,
		},
		{
			args: []string{"node", "add", "--json", "n1", "[::1]:5432"},
			cmd:  "node add",
			opts: options{json: true},
			act:  "SELECT distgres_node_add('n1', '::1', 5432)",
		},
		{
			args: []string{"node", "add", "o'n", "db.example.com:6432"},
			cmd:  "node add",
			act:  "SELECT distgres_node_add('o''n', 'db.example.com', 6432)",
		},
		{
			args: []string{"node", "drain", "n2"},
			cmd:  "node drain",
			act:  "SELECT distgres_node_drain('n2')",
		},
		{
			args: []string{"node", "remove", "n2"},
			cmd:  "node remove",
			act:  "SELECT distgres_node_remove('n2')",
		},
		{
			args: []string{"node", "activate", `n\2`},
			cmd:  "node activate",
			act:  `SELECT distgres_node_activate(E'n\\2')`,
		},
		{
			args: []string{"shard", "list"},
			cmd:  "shard list",
			act:  "SELECT shard_id, table_name, shard_index, colocation_id, min_hash, max_hash, nodes, bytes FROM distgres_shards() ORDER BY table_name, shard_index",
		},
		{
			args: []string{"shard", "list", "--table", "public.o'rders"},
			cmd:  "shard list",
			act:  "SELECT shard_id, table_name, shard_index, colocation_id, min_hash, max_hash, nodes, bytes FROM distgres_shards() WHERE table_name = 'public.o''rders' ORDER BY table_name, shard_index",
		},
		{
			args: []string{"shard", "move", "102008", "--to", "n3"},
			cmd:  "shard move",
			act:  "SELECT distgres_move_shard(102008, 'n3')",
		},
		{
			args: []string{"shard", "move", "--to=n3", "102008"},
			cmd:  "shard move",
			act:  "SELECT distgres_move_shard(102008, 'n3')",
		},
		{
			args: []string{"node", "drain", "--", "-odd"},
			cmd:  "node drain",
			act:  "SELECT distgres_node_drain('-odd')",
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			inv, err := parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if inv.cmd.name != tt.cmd {
				t.Errorf("command %q, want %q", inv.cmd.name, tt.cmd)
			}
			if inv.opts != tt.opts {
				t.Errorf("options %+v, want %+v", inv.opts, tt.opts)
			}
			var sql string
			switch a := inv.act.(type) {
			case call:
				sql = a.sql
			case list:
				sql = a.sql
			default:
				t.Fatalf("action %T", inv.act)
			}
			if sql != tt.act {
				t.Errorf("SQL\n%s\nwant\n%s", sql, tt.act)
			}
		})
	}
}

func TestParseRebalance(t *testing.T) {
	tests := []struct {
		args []string
		want rebalance
	}{
		{[]string{"rebalance"}, rebalance{strategy: "shard-count", maxParallel: 1}},
		{[]string{"rebalance", "--dry-run", "--strategy", "size"}, rebalance{strategy: "size", maxParallel: 1, dryRun: true}},
		{[]string{"rebalance", "--max-parallel=4", "--json"}, rebalance{strategy: "shard-count", maxParallel: 4}},
	}
	for _, tt := range tests {
		inv, err := parse(tt.args)
		if err != nil {
			t.Fatalf("parse(%q): %v", tt.args, err)
		}
		if got, ok := inv.act.(rebalance); !ok || got != tt.want {
			t.Errorf("parse(%q) = %#v, want %#v", tt.args, inv.act, tt.want)
		}
	}
}

func TestPrintError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{
			err:  fmt.Errorf("rebalance: %w", &pgconn.PgError{Severity: "ERROR", Code: "55000", Message: "node n3 is draining"}),
			want: "distgresctl: ERROR: node n3 is draining (SQLSTATE 55000)\n",
		},
		{
			err:  &pgconn.PgError{Severity: "ERROR", Code: "42704", Message: `node "n9" does not exist`, Detail: "known nodes: n1, n2", Hint: "see distgresctl node list"},
			want: "distgresctl: ERROR: node \"n9\" does not exist (SQLSTATE 42704)\nDETAIL: known nodes: n1, n2\nHINT: see distgresctl node list\n",
		},
		{
			err:  &pgconn.PgError{Code: "3D000", Message: `database "x" does not exist`},
			want: "distgresctl: ERROR: database \"x\" does not exist (SQLSTATE 3D000)\n",
		},
		{
			err:  errors.New("connect: dial error"),
			want: "distgresctl: connect: dial error\n",
		},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printError(&b, tt.err)
		if b.String() != tt.want {
			t.Errorf("printError(%v):\n%q\nwant\n%q", tt.err, b.String(), tt.want)
		}
	}
}

func TestFinishInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	canceled := &pgconn.PgError{Severity: "ERROR", Code: "57014", Message: "canceling statement due to user request"}
	tests := []struct {
		ctx    context.Context
		err    error
		moves  bool
		code   int
		stderr string
	}{
		{ctx: context.Background(), code: 0},
		{ctx: ctx, code: 0}, // the call ended before the interrupt took effect
		{ctx: ctx, err: canceled, moves: true, code: 1, stderr: "interrupted: the coordinator rolls back the move in progress\n"},
		{ctx: ctx, err: context.Canceled, code: 1, stderr: "interrupted\n"},
		{ctx: context.Background(), err: canceled, code: 1, stderr: "distgresctl: ERROR: canceling statement due to user request (SQLSTATE 57014)\n"},
	}
	for i, tt := range tests {
		var b bytes.Buffer
		if code := finish(tt.ctx, &b, tt.err, tt.moves); code != tt.code || b.String() != tt.stderr {
			t.Errorf("%d: finish = %d, %q; want %d, %q", i, code, b.String(), tt.code, tt.stderr)
		}
	}
}
