// Command distgresctl administers a distgres cluster. It connects to any
// coordinator and only calls the SQL admin functions (distgres_nodes(),
// distgres_move_shard(...), ...), so psql can do everything it does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// pollEvery is how often the progress bar asks for distgres_moves().
const pollEvery = 500 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole program; it returns the exit status: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	inv, err := parse(args)
	var uerr *usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage())
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "distgresctl: %s\n%s", uerr.msg, uerr.usage)
		return 2
	case err != nil:
		return finish(ctx, stderr, err, false)
	}

	cfg, err := connConfig(inv.opts.url, getenv)
	if err != nil {
		return finish(ctx, stderr, err, false)
	}
	db, err := connect(ctx, cfg, true)
	if err != nil {
		return finish(ctx, stderr, err, false)
	}
	defer db.close()

	s := &session{db: db, out: stdout, json: inv.opts.json, pollEvery: pollEvery}
	if !s.json && isTerminal(stdout) {
		s.openPoller = func(ctx context.Context) (querier, func(), error) {
			c, err := connect(ctx, cfg, false)
			if err != nil {
				return nil, nil, err
			}
			return c, c.close, nil
		}
	}
	return finish(ctx, stderr, inv.act.run(ctx, s), inv.cmd.moves)
}

// finish reports err (if any) on stderr and returns the exit status.
// moves says whether the command moves shards, which the coordinator rolls
// back when the call is cancelled.
func finish(ctx context.Context, stderr io.Writer, err error, moves bool) int {
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil && moves:
		fmt.Fprintln(stderr, "interrupted: the coordinator rolls back the move in progress")
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "interrupted")
	default:
		printError(stderr, err)
	}
	return 1
}

// printError prints err; a server error with its SQLSTATE, detail and
// hint, as psql does.
func printError(w io.Writer, err error) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		fmt.Fprintf(w, "distgresctl: %v\n", err)
		return
	}
	severity := pe.Severity
	if severity == "" {
		severity = "ERROR"
	}
	fmt.Fprintf(w, "distgresctl: %s: %s (SQLSTATE %s)\n", severity, pe.Message, pe.Code)
	if pe.Detail != "" {
		fmt.Fprintf(w, "DETAIL: %s\n", pe.Detail)
	}
	if pe.Hint != "" {
		fmt.Fprintf(w, "HINT: %s\n", pe.Hint)
	}
}
