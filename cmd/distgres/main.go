// Command distgres runs distgres: `distgres up` starts a local cluster of
// PostgreSQL data nodes and a coordinator.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/coordinator/auth"
)

const usage = `usage: distgres up [flags]
       distgres coordinator --data DIR --listen ADDR --raft-addr ADDR [--join ADDR] [flags]
       distgres datanode --dir DIR [--port PORT]

Commands:
  up           create (or reopen) a local cluster in --dir and serve clients
  coordinator  run one coordinator that bootstraps or joins a coordinator group
  datanode     run one PostgreSQL server configured as a data node, to add with distgresctl node add

Run 'distgres up -h' for the flags.
`

// gcPercent is the coordinator's garbage collection target unless $GOGC
// sets one. What a statement allocates dies with it and the live heap is
// small (plans, sessions, the catalog), so collecting at 5x the live heap
// instead of 2x costs little memory and saves CPU on every statement:
// 4-5 % of the coordinator's CPU per TPC-B-like transaction.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "up":
		os.Exit(up(os.Args[2:], os.Stdout, os.Stderr))
	case "coordinator":
		os.Exit(runCoordinator(os.Args[2:], os.Stdout, os.Stderr))
	case "datanode":
		os.Exit(dataNode(os.Args[2:], os.Stdout, os.Stderr))
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
	default:
		fmt.Fprintf(os.Stderr, "distgres: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

type userFlags []string

func (u *userFlags) String() string     { return strings.Join(*u, ",") }
func (u *userFlags) Set(v string) error { *u = append(*u, v); return nil }

func up(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 3, "number of data nodes (first start only)")
	dir := fs.String("dir", "./distgres-data", "cluster directory")
	port := fs.Int("port", 5432, "client port of the coordinator (on 127.0.0.1)")
	sf := addServerFlags(fs)
	coordinators := fs.Int("coordinators", 1, "number of coordinators; more than one runs each as its own process, on ports PORT, PORT+1, ...")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "distgres up: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *coordinators < 1 || *coordinators > 9 {
		fmt.Fprintln(stderr, "distgres up: --coordinators must be between 1 and 9")
		return 2
	}
	log, users, stopPprof, err := sf.setup(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", err)
		return 1
	}
	defer stopPprof()
	opts := cluster.Options{Dir: *dir, Nodes: *nodes, Port: *port, Shards: *sf.shards, DefaultDistribution: *sf.dist, Users: users, Logger: log}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *coordinators > 1 {
		var extra []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "shards", "default-distribution", "users-file", "v":
				extra = append(extra, "--"+f.Name+"="+f.Value.String())
			}
		})
		for _, u := range sf.users {
			extra = append(extra, "--user="+u)
		}
		return upGroup(ctx, opts, *coordinators, extra, stdout, stderr)
	}
	c, err := cluster.Up(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", firstLine(err))
		return 1
	}
	for i := range c.Nodes {
		fmt.Fprintf(stdout, "data node %s: %s\n", c.Names[i], c.NodeURL(i))
	}
	fmt.Fprintf(stdout, "coordinator: %s\n", c.ClientURL)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", firstLine(err))
		return 1
	}
	return 0
}

func loadUsers(file string, flags []string) (*auth.Users, error) {
	if file != "" && len(flags) > 0 {
		return nil, fmt.Errorf("use either --users-file or --user, not both")
	}
	if file != "" {
		return auth.ParseUsersFile(file)
	}
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, f := range flags {
		name, secret, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("--user %q: want name:password", f)
		}
		m[name] = secret
	}
	return auth.NewUsers(m)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
