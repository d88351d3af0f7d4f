package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/distgres/distgres/datanode"
	"github.com/jackc/pgx/v5/pgconn"
)

// DataNodes are the running PostgreSQL data nodes of a cluster directory.
type DataNodes struct {
	Servers []*datanode.Server
	Names   []string
}

// Addrs returns the nodes' names and addresses, for registration.
func (d *DataNodes) Addrs() []NodeAddr {
	var out []NodeAddr
	for i, s := range d.Servers {
		out = append(out, NodeAddr{Name: d.Names[i], Host: "127.0.0.1", Port: s.Port()})
	}
	return out
}

// Stop stops every data node.
func (d *DataNodes) Stop(ctx context.Context) error {
	var first error
	for i, s := range d.Servers {
		if err := s.Stop(ctx); err != nil && first == nil {
			first = fmt.Errorf("stopping data node %s: %w", d.Names[i], err)
		}
	}
	return first
}

// startNodes creates (first time) or adopts/starts the data nodes listed
// in lay, updating their ports in lay.
func startNodes(ctx context.Context, dir string, lay *Layout, fresh bool, opts Options, log *slog.Logger) (_ *DataNodes, err error) {
	bin, err := datanode.FindBinaries()
	if err != nil {
		return nil, err
	}
	d := &DataNodes{}
	defer func() {
		if err != nil {
			d.Stop(context.WithoutCancel(ctx))
		}
	}()
	for i := range lay.Nodes {
		e := &lay.Nodes[i]
		nodeDir := filepath.Join(dir, e.Name)
		if _, statErr := os.Stat(nodeDir); errors.Is(statErr, os.ErrNotExist) {
			if !fresh {
				return nil, fmt.Errorf("damaged cluster directory %s: data node directory %s is missing", dir, nodeDir)
			}
			if opts.Template != "" {
				err = datanode.CopyDataDir(opts.Template, nodeDir)
			} else {
				err = datanode.InitDB(ctx, bin, nodeDir, datanode.InitOptions{Fast: opts.Fast, NoSync: opts.Fast, SharedBy: len(lay.Nodes), Logger: log})
			}
			if err != nil {
				return nil, fmt.Errorf("initializing data node %s: %w", e.Name, err)
			}
		}
		s := datanode.NewServer(bin, nodeDir, log)
		adopted, err := s.Adopt(ctx)
		if err != nil {
			return nil, fmt.Errorf("data node %s: %w", e.Name, err)
		}
		if !adopted {
			if err := bin.Validate(nodeDir); err != nil {
				return nil, fmt.Errorf("damaged data node directory: %w", err)
			}
			port := e.Port
			if port == 0 || datanode.PortInUse(port) {
				if port, err = datanode.FreePort(); err != nil {
					return nil, err
				}
			}
			sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err = s.Start(sctx, port)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("starting data node %s: %w", e.Name, err)
			}
		}
		e.Port = s.Port()
		d.Servers = append(d.Servers, s)
		d.Names = append(d.Names, e.Name)
	}
	for i, s := range d.Servers {
		if err := ensureShardDatabase(ctx, s.Port()); err != nil {
			return nil, fmt.Errorf("data node %s: %w", d.Names[i], err)
		}
	}
	return d, nil
}

// ensureShardDatabase creates the shard database on a node if missing.
func ensureShardDatabase(ctx context.Context, port int) error {
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res := conn.ExecParams(ctx, "SELECT 1 FROM pg_database WHERE datname = $1", [][]byte{[]byte(ShardDatabase)}, nil, nil, nil).Read()
	if res.Err != nil {
		return res.Err
	}
	if len(res.Rows) == 0 {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ShardDatabase).ReadAll(); err != nil {
			return fmt.Errorf("creating shard database: %w", err)
		}
	}
	return nil
}
