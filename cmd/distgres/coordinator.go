package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/gtm"
)

type nodeFlags []cluster.NodeAddr

func (n *nodeFlags) String() string { return fmt.Sprint(*n) }
func (n *nodeFlags) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	host, port, ok2 := strings.Cut(addr, ":")
	p, err := strconv.Atoi(port)
	if !ok || !ok2 || name == "" || host == "" || err != nil {
		return fmt.Errorf("want NAME=HOST:PORT")
	}
	*n = append(*n, cluster.NodeAddr{Name: name, Host: host, Port: p})
	return nil
}

// runCoordinator is `distgres coordinator`: one coordinator process.
func runCoordinator(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "directory for this coordinator's Raft log and snapshots (required)")
	id := fs.String("id", "", "Raft server ID, stable across restarts (default: the --data directory's name)")
	listen := fs.String("listen", "127.0.0.1:5432", "client address")
	raftAddr := fs.String("raft-addr", "", "address for Raft and for other coordinators (required; not a wildcard address)")
	join := fs.String("join", "", "Raft address of a member of an existing group (ignored once this coordinator has Raft state)")
	var nodes nodeFlags
	fs.Var(&nodes, "node", "NAME=HOST:PORT of a data node to register or update (repeatable)")
	recovery := fs.Duration("recovery-interval", 10*time.Second, "how often the Raft leader looks for in-doubt prepared transactions")
	sf := addServerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *data == "" || *raftAddr == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "distgres coordinator: --data and --raft-addr are required")
		fs.Usage()
		return 2
	}
	if *id == "" {
		*id = filepath.Base(filepath.Clean(*data))
	}
	log, u, stopPprof, err := sf.setup(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "distgres coordinator: %v\n", err)
		return 1
	}
	defer stopPprof()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	c, err := cluster.StartCoordinator(sctx, cluster.CoordinatorOptions{
		ID: *id, Dir: *data, Listen: *listen, RaftAddr: *raftAddr, Join: *join, Nodes: nodes,
		Shards: *sf.shards, DefaultDistribution: *sf.dist, Users: u, RecoveryInterval: *recovery,
		Failpoint: gtm.ExitFailpoint(), Logger: log,
	})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "distgres coordinator: %v\n", firstLine(err))
		return 1
	}
	fmt.Fprintf(stdout, "%s%s ready: client %s raft %s\n", cluster.ReadyPrefix, c.ID, c.ClientURL, c.Store.RaftAddr())
	<-ctx.Done()
	if err := c.Close(); err != nil {
		fmt.Fprintf(stderr, "distgres coordinator: %v\n", firstLine(err))
		return 1
	}
	return 0
}

// upGroup is `distgres up --coordinators N`: the data nodes in this
// process, each coordinator in its own.
func upGroup(ctx context.Context, opts cluster.Options, n int, extra []string, stdout, stderr io.Writer) int {
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", err)
		return 1
	}
	data, lay, dir, err := cluster.StartDataNodes(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", firstLine(err))
		return 1
	}
	stopNodes := func() int {
		sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := data.Stop(sctx); err != nil {
			fmt.Fprintf(stderr, "distgres: %v\n", firstLine(err))
			return 1
		}
		return 0
	}
	procs, err := cluster.SpawnCoordinators(ctx, bin, dir, lay, data, n, opts.Port, extra, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "distgres: %v\n", firstLine(err))
		stopNodes()
		return 1
	}
	for i, s := range data.Servers {
		fmt.Fprintf(stdout, "data node %s: %s\n", data.Names[i], s.URL())
	}
	for _, p := range procs {
		fmt.Fprintf(stdout, "coordinator %s: pid %d, client %s, raft %s\n", p.ID, p.PID, p.ClientURL, p.RaftAddr)
	}
	for _, p := range procs {
		go func() {
			select {
			case <-p.Done():
				if ctx.Err() == nil {
					fmt.Fprintf(stderr, "distgres: coordinator %s (pid %d) exited (%v); start it again with: %s %s\n",
						p.ID, p.PID, p.Err(), bin, strings.Join(p.Args, " "))
				}
			case <-ctx.Done():
			}
		}()
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range procs {
		p.Stop(sctx)
	}
	return stopNodes()
}
