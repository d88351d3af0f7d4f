package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/coordinator"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/datanode"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/shardmove"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NodeAddr names a data node and its address.
type NodeAddr struct {
	Name string
	Host string
	Port int
}

// CoordinatorOptions configure one coordinator process (or, in tests, one
// of several in a process).
type CoordinatorOptions struct {
	// ID is the coordinator's Raft server ID, stable across restarts.
	ID string
	// Dir holds its Raft state.
	Dir string
	// Listen is the client address (host:port; port 0 picks one).
	Listen string
	// RaftAddr is the address for Raft and coordinator-to-coordinator
	// requests (host:port; port 0 picks one).
	RaftAddr string
	// Join is the Raft address of a member of an existing group; empty
	// bootstraps a new group when Dir has no state.
	Join string
	// Nodes are registered in the catalog, or their addresses updated.
	Nodes []NodeAddr
	// Shards is the default shard count of distributed tables.
	Shards              int
	DefaultDistribution string
	Users               *auth.Users
	// Failpoint is the transaction manager's crash-test hook.
	Failpoint func(step string) error
	// RecoveryInterval is how often the Raft leader looks for in-doubt
	// prepared transactions (default 10s); RecoveryGrace is how long it
	// leaves unrecorded ones alone (default 30s).
	RecoveryInterval time.Duration
	RecoveryGrace    time.Duration
	// HeartbeatTimeout and ElectionTimeout tune Raft (default 500ms).
	HeartbeatTimeout, ElectionTimeout time.Duration
	// SnapshotThreshold and TrailingLogs tune Raft log compaction.
	SnapshotThreshold, TrailingLogs uint64
	Logger                          *slog.Logger
}

// Coordinator is a running coordinator: its Raft store, transaction
// manager and client listener.
type Coordinator struct {
	ID        string
	ClientURL string
	Addr      net.Addr
	Store     *catalog.RaftStore
	GTM       *gtm.Manager

	pools   *datanode.Pools
	srv     *coordinator.Server
	cancel  context.CancelFunc
	served  chan error
	stopped bool
}

// StartCoordinator opens the coordinator's Raft store (bootstrapping or
// joining a group), registers opts.Nodes, and serves clients.
func StartCoordinator(ctx context.Context, opts CoordinatorOptions) (_ *Coordinator, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("coordinator", opts.ID)
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("client address %s is already in use", opts.Listen)
		}
		return nil, err
	}
	raftLn, err := net.Listen("tcp", opts.RaftAddr)
	if err != nil {
		ln.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("raft address %s is already in use", opts.RaftAddr)
		}
		return nil, err
	}
	c := &Coordinator{ID: opts.ID, Addr: ln.Addr(), ClientURL: fmt.Sprintf("postgres://postgres@%s/postgres", ln.Addr())}
	defer func() {
		if err != nil {
			ln.Close()
			c.closeStore()
		}
	}()
	c.Store, err = catalog.OpenRaft(ctx, catalog.RaftOptions{
		ID: opts.ID, Dir: opts.Dir, Listener: raftLn, ClientAddr: ln.Addr().String(), Join: opts.Join,
		HeartbeatTimeout: opts.HeartbeatTimeout, ElectionTimeout: opts.ElectionTimeout,
		SnapshotThreshold: opts.SnapshotThreshold, TrailingLogs: opts.TrailingLogs, Logger: log,
	})
	if err != nil {
		raftLn.Close()
		return nil, err
	}
	syncCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = c.Store.Sync(syncCtx)
	cancel()
	if err != nil {
		log.Warn("catalog: no Raft leader reachable at start-up; serving from the local catalog, which may be behind", "catalog_version", c.Store.Snapshot().Version())
	}
	if err := registerNodes(ctx, c.Store, opts.Nodes, log); err != nil {
		return nil, err
	}
	var srv *coordinator.Server
	c.pools = datanode.NewPools(datanode.PoolOptions{Logger: log, Configure: func(id int32, db string, cfg *pgxpool.Config) error {
		return srv.ConfigurePool(id, db, cfg)
	}})
	c.GTM = gtm.New(gtm.Config{
		Log: c.Store, Coordinator: opts.ID, Incarnation: c.Store.Incarnation(), Pools: c.pools,
		Ping: c.Store.Ping, Grace: opts.RecoveryGrace, Failpoint: opts.Failpoint, Logger: log,
		Ready: c.Store.Registered(),
	})
	bin, err := datanode.FindBinaries()
	if err != nil {
		return nil, err
	}
	mover := shardmove.New(shardmove.Config{
		Store: c.Store, ShellDB: shellDatabase, ShardDB: ShardDatabase, Coordinator: opts.ID, Incarnation: c.Store.Incarnation(),
		Binaries: bin, Ping: c.Store.Ping, Grace: opts.RecoveryGrace, Failpoint: opts.Failpoint, Logger: log,
	})
	c.Store.SetInFlight(func(id string) bool { return c.GTM.InFlight(id) || mover.InFlight(id) })
	srv = coordinator.New(coordinator.Config{
		Catalog: c.Store, GTM: c.GTM, Cluster: c.Store, Pools: c.pools, Users: opts.Users,
		ShellDB: shellDatabase, ShardDB: ShardDatabase, DefaultShardCount: opts.Shards,
		DefaultDistribution: opts.DefaultDistribution, Mover: mover, Logger: log,
	})
	c.srv = srv
	c.Store.SetDeadlockHooks(srv.Backends, srv.CancelDeadlocked)
	deadlocks := gtm.NewDeadlockDetector(gtm.DeadlockConfig{
		Catalog: c.Store, Pools: c.pools, Database: ShardDatabase, Self: opts.ID,
		Local: srv.Backends, CancelLocal: srv.CancelDeadlocked,
		Remote: c.Store.Backends, CancelRemote: c.Store.CancelDeadlocked, Logger: log,
	})
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.served = make(chan error, 1)
	go func() { c.served <- srv.Serve(sctx, ln) }()
	interval := opts.RecoveryInterval
	if interval == 0 {
		interval = 10 * time.Second
	}
	go func() {
		// Recovery starts once this coordinator's incarnation is in the
		// catalog, and runs on the leader only, after a barrier so that
		// its catalog holds every committed decision.
		select {
		case <-c.Store.Registered():
		case <-sctx.Done():
			return
		}
		c.GTM.Run(sctx, interval, func() bool { return c.Store.IsLeader() && c.Store.Barrier(5*time.Second) == nil })
	}()
	// So does the cleanup of shard moves whose coordinator died or gave up.
	go func() {
		select {
		case <-c.Store.Registered():
		case <-sctx.Done():
			return
		}
		mover.Run(sctx, interval, c.Store.IsLeader)
	}()
	// Distributed deadlock detection runs on the leader too; it needs no
	// barrier, as it reads the data nodes and the coordinators, not the
	// catalog's transaction records.
	go deadlocks.Run(sctx, gtm.DefaultDeadlockInterval, c.Store.IsLeader)
	return c, nil
}

// Close stops serving clients and leaves the Raft group running no more;
// the other coordinators see it as failed until it starts again.
func (c *Coordinator) Close() error {
	if c.stopped {
		return nil
	}
	c.stopped = true
	c.cancel()
	<-c.served
	c.GTM.Close()
	c.pools.Close()
	return c.closeStore()
}

func (c *Coordinator) closeStore() error {
	if c.Store == nil {
		return nil
	}
	return c.Store.Close()
}

// registerNodes registers nodes in a catalog that has none yet (a new
// cluster) and updates the addresses of those it has. Once the cluster
// has nodes, nodes join and leave with distgresctl (node add copies the
// schema, node remove takes a node out for good): a node named here but
// missing from the catalog is left out, with a warning.
func registerNodes(ctx context.Context, store catalog.Store, nodes []NodeAddr, log *slog.Logger) error {
	initial := len(store.Snapshot().Nodes()) == 0
	for _, a := range nodes {
		for attempt := 0; ; attempt++ {
			n, ok := store.Snapshot().NodeByName(a.Name)
			var err error
			switch {
			case !ok && !initial:
				log.Warn("data node is not in the catalog (removed, or never added); add it with distgresctl node add", "node", a.Name)
			case !ok:
				_, err = store.Apply(ctx, catalog.AddNode{Name: a.Name, Host: a.Host, Port: a.Port})
			case n.Port != a.Port || n.Host != a.Host:
				_, err = store.Apply(ctx, catalog.UpdateNode{Name: a.Name, Host: a.Host, Port: a.Port})
			}
			// Another coordinator may have registered it meanwhile; the
			// group may still be waiting for its other members.
			if errors.Is(err, catalog.ErrNodeExists) && attempt < 3 {
				continue
			}
			if errors.Is(err, catalog.ErrNoQuorum) {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
					continue
				}
			}
			if err != nil {
				return fmt.Errorf("registering data node %s: %w", a.Name, err)
			}
			break
		}
	}
	return nil
}
