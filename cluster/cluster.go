// Package cluster runs a local distgres cluster: PostgreSQL data nodes in
// one directory and coordinators in front of them. It is what
// `distgres up`, `distgres coordinator` and the test harness start.
//
// Directory layout:
//
//	DIR/cluster.json   node names and their last ports, coordinator ports
//	DIR/nodeN/         the data directory of data node N (its server log
//	                   is nodeN/postgresql.log)
//	DIR/coordN/        coordinator N's Raft log and snapshots (the catalog)
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/datanode"
)

// ShardDatabase is the database on each data node that holds the shards.
const ShardDatabase = "distgres_shards"

// shellDatabase is the database on each data node that holds the logical
// (empty) tables; clients connect to a database of the same name.
const shellDatabase = "postgres"

// Options configure a local cluster.
type Options struct {
	Dir    string
	Nodes  int
	Port   int // 0: a free port
	Shards int
	// DefaultDistribution is the server default of
	// distgres.default_distribution.
	DefaultDistribution string
	Users               *auth.Users
	// Template, if set, is an initdb'ed directory copied for new nodes
	// instead of running initdb (tests).
	Template string
	// Fast turns off fsync on new data nodes (tests).
	Fast   bool
	Logger *slog.Logger
}

// Cluster is a running local cluster with one coordinator.
type Cluster struct {
	Nodes       []*datanode.Server
	Names       []string
	ClientURL   string
	Addr        net.Addr
	Coordinator *Coordinator

	data    *DataNodes
	stopped bool
}

// Layout is what cluster.json records: the data nodes' names and last
// ports, and the coordinators' IDs and last ports.
type Layout struct {
	Nodes        []nodeEntry  `json:"nodes"`
	Coordinators []CoordEntry `json:"coordinators,omitempty"`
}

type nodeEntry struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// CoordEntry is one coordinator of a Layout.
type CoordEntry struct {
	ID       string `json:"id"`
	Port     int    `json:"port"`
	RaftPort int    `json:"raft_port"`
}

// Up creates or reopens the cluster in opts.Dir and starts its data nodes
// and a single-voter coordinator.
func Up(ctx context.Context, opts Options) (_ *Cluster, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Port != 0 && datanode.PortInUse(opts.Port) {
		return nil, fmt.Errorf("port %d is already in use", opts.Port)
	}
	data, lay, dir, err := StartDataNodes(ctx, opts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{data: data, Nodes: data.Servers, Names: data.Names}
	defer func() {
		if err != nil {
			data.Stop(context.WithoutCancel(ctx))
		}
	}()
	ce := lay.CoordinatorEntry(0)
	raftPort := ce.RaftPort
	if raftPort == 0 || datanode.PortInUse(raftPort) {
		if raftPort, err = datanode.FreePort(); err != nil {
			return nil, err
		}
	}
	co, err := StartCoordinator(ctx, CoordinatorOptions{
		ID: ce.ID, Dir: filepath.Join(dir, ce.ID),
		Listen:   fmt.Sprintf("127.0.0.1:%d", opts.Port),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", raftPort),
		Nodes:    data.Addrs(), Shards: opts.Shards, DefaultDistribution: opts.DefaultDistribution,
		Users: opts.Users, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	ce.Port = co.Addr.(*net.TCPAddr).Port
	ce.RaftPort = raftPort
	if err := WriteLayout(dir, lay); err != nil {
		co.Close()
		return nil, err
	}
	c.Coordinator = co
	c.ClientURL, c.Addr = co.ClientURL, co.Addr
	return c, nil
}

// StartDataNodes creates or reopens the cluster directory and starts its
// data nodes. It returns the directory's layout (with the nodes' ports)
// and its absolute path; coordinators are started separately.
func StartDataNodes(ctx context.Context, opts Options) (*DataNodes, *Layout, string, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, "", fmt.Errorf("cannot create %s: %w", dir, err)
	}
	lay, fresh, err := readLayout(dir, opts.Nodes)
	if err != nil {
		return nil, nil, "", err
	}
	data, err := startNodes(ctx, dir, lay, fresh, opts, log)
	if err != nil {
		return nil, nil, "", err
	}
	if err := WriteLayout(dir, lay); err != nil {
		data.Stop(context.WithoutCancel(ctx))
		return nil, nil, "", err
	}
	return data, lay, dir, nil
}

// CoordinatorEntry returns the layout entry of coordinator i (0-based), adding
// it if missing.
func (l *Layout) CoordinatorEntry(i int) *CoordEntry {
	for len(l.Coordinators) <= i {
		l.Coordinators = append(l.Coordinators, CoordEntry{ID: fmt.Sprintf("coord%d", len(l.Coordinators)+1)})
	}
	return &l.Coordinators[i]
}

// NodeURL is the connection URL of data node i.
func (c *Cluster) NodeURL(i int) string { return c.Nodes[i].URL() }

// ShardURL is the connection URL of data node i's shard database.
func (c *Cluster) ShardURL(i int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s", c.Nodes[i].Port(), ShardDatabase)
}

// Catalog returns the coordinator's catalog store.
func (c *Cluster) Catalog() catalog.Store { return c.Coordinator.Store }

// Close stops the coordinator and the data nodes.
func (c *Cluster) Close(ctx context.Context) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	err := c.Coordinator.Close()
	if err2 := c.data.Stop(ctx); err == nil {
		err = err2
	}
	return err
}

func readLayout(dir string, nodes int) (*Layout, bool, error) {
	path := filepath.Join(dir, "cluster.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "node") || strings.HasPrefix(e.Name(), "coord") {
				return nil, false, fmt.Errorf("damaged cluster directory %s: %s exists but cluster.json is missing", dir, e.Name())
			}
		}
		lay := &Layout{}
		for i := 1; i <= nodes; i++ {
			lay.Nodes = append(lay.Nodes, nodeEntry{Name: fmt.Sprintf("node%d", i)})
		}
		return lay, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	var lay Layout
	if err := json.Unmarshal(data, &lay); err != nil || len(lay.Nodes) == 0 {
		return nil, false, fmt.Errorf("damaged cluster directory: %s is not a valid cluster file", path)
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.json")); err == nil && len(lay.Coordinators) == 0 {
		return nil, false, fmt.Errorf("cluster directory %s was made by an older distgres (catalog.json, no Raft log); create a new one", dir)
	}
	return &lay, false, nil
}

// WriteLayout saves the directory's layout.
func WriteLayout(dir string, lay *Layout) error {
	data, err := json.MarshalIndent(lay, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "cluster.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "cluster.json"))
}
