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

	"github.com/distgres/distgres/datanode"
)

// dataNode runs `distgres datanode`: one PostgreSQL server set up as
// distgres needs it (prepared transactions, logical replication), to be
// added to a running cluster with `distgresctl node add`.
func dataNode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("datanode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "data directory (created with initdb when it does not exist)")
	port := fs.Int("port", 0, "port on 127.0.0.1 (0: a free one)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: distgres datanode --dir DIR [--port PORT]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, err := datanode.FindBinaries()
	if err != nil {
		fmt.Fprintf(stderr, "distgres datanode: %v\n", err)
		return 1
	}
	if _, err := os.Stat(*dir); errors.Is(err, os.ErrNotExist) {
		if err := datanode.InitDB(ctx, bin, *dir, datanode.InitOptions{}); err != nil {
			fmt.Fprintf(stderr, "distgres datanode: initdb: %v\n", err)
			return 1
		}
	}
	s := datanode.NewServer(bin, *dir, nil)
	p := *port
	if p == 0 {
		if p, err = datanode.FreePort(); err != nil {
			fmt.Fprintf(stderr, "distgres datanode: %v\n", err)
			return 1
		}
	}
	if err := s.Start(ctx, p); err != nil {
		fmt.Fprintf(stderr, "distgres datanode: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "data node ready: 127.0.0.1:%d (log %s)\nadd it to a cluster with: distgresctl node add NAME 127.0.0.1:%d\n", s.Port(), s.LogPath(), s.Port())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(sctx); err != nil {
		fmt.Fprintf(stderr, "distgres datanode: stopping: %v\n", err)
		return 1
	}
	return 0
}
