package datanode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool defaults.
const (
	DefaultMaxConns       = 16
	DefaultPoolUser       = "postgres"
	DefaultConnectTimeout = 5 * time.Second
)

// ErrPoolsClosed is returned by Pools.Get after Close.
var ErrPoolsClosed = errors.New("datanode: pools are closed")

// PoolOptions configures Pools. The zero value is usable.
type PoolOptions struct {
	// MaxConns is the maximum number of connections per pool, that is per
	// (node, database). Default DefaultMaxConns.
	MaxConns int32
	// User is the role to connect as. Default "postgres".
	User string
	// ConnectTimeout bounds establishing one connection. Default
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Configure, if set, is called on every new pool's configuration
	// before the pool is created, e.g. to install AfterConnect hooks.
	Configure func(nodeID int32, database string, cfg *pgxpool.Config) error
	// Logger receives pool lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// poolKey identifies one pool.
type poolKey struct {
	nodeID   int32
	database string
}

// poolEntry is a pool and the address it connects to.
type poolEntry struct {
	pool *pgxpool.Pool
	host string
	port int
}

// Pools holds one lazily created *pgxpool.Pool per (data node, database).
//
// Pools holds no catalog state: callers pass the node's current host and
// port to every Get. If they differ from the address a node's existing pool
// uses (the node moved or was restarted on another port), the old pool is
// replaced and closed in the background once its connections are released.
//
// Pools is safe for concurrent use.
type Pools struct {
	opts   PoolOptions
	logger *slog.Logger

	mu     sync.RWMutex
	pools  map[poolKey]poolEntry
	closed bool
}

// NewPools returns an empty Pools.
func NewPools(opts PoolOptions) *Pools {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.User == "" {
		opts.User = DefaultPoolUser
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	return &Pools{
		opts:   opts,
		logger: loggerOrDiscard(opts.Logger),
		pools:  make(map[poolKey]poolEntry),
	}
}

// Get returns the pool for database on node nodeID at host:port, creating
// it on first use. Creating a pool does not connect; connections are opened
// on demand, so connection errors surface when the pool is used.
func (ps *Pools) Get(ctx context.Context, nodeID int32, host string, port int, database string) (*pgxpool.Pool, error) {
	key := poolKey{nodeID: nodeID, database: database}

	ps.mu.RLock()
	e, ok := ps.pools[key]
	closed := ps.closed
	ps.mu.RUnlock()
	if closed {
		return nil, ErrPoolsClosed
	}
	if ok && e.host == host && e.port == port {
		return e.pool, nil
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return nil, ErrPoolsClosed
	}
	e, ok = ps.pools[key]
	if ok && e.host == host && e.port == port {
		return e.pool, nil // created by a concurrent Get
	}
	pool, err := ps.newPool(ctx, key, host, port)
	if err != nil {
		return nil, err
	}
	if ok {
		ps.logger.Info("data node address changed; replacing pool",
			"node", nodeID, "database", database, "old", net.JoinHostPort(e.host, strconv.Itoa(e.port)),
			"new", net.JoinHostPort(host, strconv.Itoa(port)))
		go e.pool.Close() // blocks until borrowed connections are released
	}
	ps.pools[key] = poolEntry{pool: pool, host: host, port: port}
	return pool, nil
}

func (ps *Pools) newPool(ctx context.Context, key poolKey, host string, port int) (*pgxpool.Pool, error) {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(ps.opts.User),
		Host:     net.JoinHostPort(host, strconv.Itoa(port)),
		Path:     "/" + key.database,
		RawQuery: "sslmode=disable",
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("pool for node %d database %q: %w", key.nodeID, key.database, err)
	}
	cfg.MaxConns = ps.opts.MaxConns
	cfg.ConnConfig.ConnectTimeout = ps.opts.ConnectTimeout
	cfg.ShouldPing = shouldPing
	cfg.ConnConfig.DialFunc = dialLocalFirst(cfg.ConnConfig.DialFunc)
	if ps.opts.Configure != nil {
		if err := ps.opts.Configure(key.nodeID, key.database, cfg); err != nil {
			return nil, fmt.Errorf("configuring pool for node %d database %q: %w", key.nodeID, key.database, err)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pool for node %d database %q: %w", key.nodeID, key.database, err)
	}
	ps.logger.Debug("created pool", "node", key.nodeID, "database", key.database, "addr", u.Host)
	return pool, nil
}

// Close closes every pool and makes later Gets fail with ErrPoolsClosed.
// It waits until connections borrowed from the pools have been released.
func (ps *Pools) Close() {
	ps.mu.Lock()
	pools := ps.pools
	ps.pools = nil
	ps.closed = true
	ps.mu.Unlock()
	for _, e := range pools {
		e.pool.Close()
	}
}
