// Package cluster runs a local distgres cluster: PostgreSQL data nodes in
// one directory and a coordinator in front of them. It is what
// `distgres up` and the test harness start.
//
// Directory layout:
//
//	DIR/cluster.json   node names and their last ports
//	DIR/catalog.json   the shard catalog (file store)
//	DIR/nodeN/         the data directory of data node N (its server log
//	                   is nodeN/postgresql.log)
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
	"syscall"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/coordinator"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/datanode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ShardDatabase is the database on each data node that holds the shards.
const ShardDatabase = "distgres_shards"

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

// Cluster is a running local cluster.
type Cluster struct {
	Nodes     []*datanode.Server
	Names     []string
	ClientURL string
	Addr      net.Addr

	store   *catalog.FileStore
	pools   *datanode.Pools
	srv     *coordinator.Server
	ln      net.Listener
	cancel  context.CancelFunc
	served  chan error
	log     *slog.Logger
	stopped bool
}

type layout struct {
	Nodes []nodeEntry `json:"nodes"`
}

type nodeEntry struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// Up creates or reopens the cluster in opts.Dir and starts it.
func Up(ctx context.Context, opts Options) (_ *Cluster, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	bin, err := datanode.FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if opts.Port != 0 && datanode.PortInUse(opts.Port) {
		return nil, fmt.Errorf("port %d is already in use", opts.Port)
	}
	lay, fresh, err := readLayout(dir, opts.Nodes)
	if err != nil {
		return nil, err
	}
	c := &Cluster{log: log}
	defer func() {
		if err != nil {
			c.stopNodes(context.WithoutCancel(ctx))
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
				err = datanode.InitDB(ctx, bin, nodeDir, datanode.InitOptions{Fast: opts.Fast, NoSync: opts.Fast, Logger: log})
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
		c.Nodes = append(c.Nodes, s)
		c.Names = append(c.Names, e.Name)
	}
	if err := writeLayout(dir, lay); err != nil {
		return nil, err
	}
	for i, s := range c.Nodes {
		if err := ensureShardDatabase(ctx, s.Port()); err != nil {
			return nil, fmt.Errorf("data node %s: %w", c.Names[i], err)
		}
	}
	store, err := catalog.OpenFileStore(filepath.Join(dir, "catalog.json"))
	if err != nil {
		return nil, fmt.Errorf("damaged cluster directory: %w", err)
	}
	c.store = store
	if err := registerNodes(ctx, store, c); err != nil {
		store.Close()
		return nil, err
	}
	var srv *coordinator.Server
	c.pools = datanode.NewPools(datanode.PoolOptions{Logger: log, Configure: func(id int32, db string, cfg *pgxpool.Config) error {
		return srv.ConfigurePool(id, db, cfg)
	}})
	srv = coordinator.New(coordinator.Config{
		Catalog: store, Pools: c.pools, Users: opts.Users,
		ShardDB: ShardDatabase, DefaultShardCount: opts.Shards,
		DefaultDistribution: opts.DefaultDistribution, Logger: log,
	})
	c.srv = srv
	addr := fmt.Sprintf("127.0.0.1:%d", opts.Port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.pools.Close()
		store.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("port %d is already in use", opts.Port)
		}
		return nil, err
	}
	c.ln = ln
	c.Addr = ln.Addr()
	c.ClientURL = fmt.Sprintf("postgres://postgres@%s/postgres", ln.Addr())
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.served = make(chan error, 1)
	go func() { c.served <- c.srv.Serve(sctx, ln) }()
	return c, nil
}

// NodeURL is the connection URL of data node i.
func (c *Cluster) NodeURL(i int) string { return c.Nodes[i].URL() }

// ShardURL is the connection URL of data node i's shard database.
func (c *Cluster) ShardURL(i int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s", c.Nodes[i].Port(), ShardDatabase)
}

// Catalog returns the cluster's catalog store.
func (c *Cluster) Catalog() catalog.Store { return c.store }

// Close stops the coordinator and the data nodes.
func (c *Cluster) Close(ctx context.Context) error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	c.cancel()
	<-c.served
	c.pools.Close()
	c.store.Close()
	return c.stopNodes(ctx)
}

func (c *Cluster) stopNodes(ctx context.Context) error {
	var first error
	for i, s := range c.Nodes {
		if err := s.Stop(ctx); err != nil && first == nil {
			first = fmt.Errorf("stopping data node %s: %w", c.Names[i], err)
		}
	}
	return first
}

func readLayout(dir string, nodes int) (*layout, bool, error) {
	path := filepath.Join(dir, "cluster.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "node") || e.Name() == "catalog.json" {
				return nil, false, fmt.Errorf("damaged cluster directory %s: %s exists but cluster.json is missing", dir, e.Name())
			}
		}
		lay := &layout{}
		for i := 1; i <= nodes; i++ {
			lay.Nodes = append(lay.Nodes, nodeEntry{Name: fmt.Sprintf("node%d", i)})
		}
		return lay, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	var lay layout
	if err := json.Unmarshal(data, &lay); err != nil || len(lay.Nodes) == 0 {
		return nil, false, fmt.Errorf("damaged cluster directory: %s is not a valid cluster file", path)
	}
	return &lay, false, nil
}

func writeLayout(dir string, lay *layout) error {
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

// registerNodes adds new nodes to the catalog and updates moved ones.
func registerNodes(ctx context.Context, store catalog.Store, c *Cluster) error {
	for i, s := range c.Nodes {
		name := c.Names[i]
		n, ok := store.Snapshot().NodeByName(name)
		var err error
		switch {
		case !ok:
			_, err = store.Apply(ctx, catalog.AddNode{Name: name, Host: "127.0.0.1", Port: s.Port()})
		case n.Port != s.Port() || n.Host != "127.0.0.1":
			_, err = store.Apply(ctx, catalog.UpdateNode{Name: name, Host: "127.0.0.1", Port: s.Port()})
		}
		if err != nil {
			return fmt.Errorf("registering data node %s: %w", name, err)
		}
	}
	return nil
}
