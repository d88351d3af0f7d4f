// Package coordinator serves PostgreSQL clients: the wire protocol
// (pgproto3 backend), authentication, simple and extended query, cancel
// requests and session state (settings, prepared statements, portals, the
// open transaction). It hands statements to the planner and plans to the
// executor; it does not plan SQL or read rows itself.
package coordinator

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/datanode"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/shardmove"
	"github.com/jackc/pgx/v5/pgtype"
)

// Config configures a coordinator.
type Config struct {
	Catalog catalog.Store
	// GTM, when set, runs DDL as global transactions (two-phase commit
	// with the decision in the catalog log).
	GTM *gtm.Manager
	// Cluster, when set, reports the coordinator group for
	// distgres_cluster().
	Cluster ClusterStatus
	Pools   *datanode.Pools
	// Users, when set, requires SCRAM-SHA-256 authentication; nil means
	// trust.
	Users *auth.Users
	// Database is the database name clients connect to.
	Database string
	// ShellDB and ShardDB are the databases on each data node holding the
	// logical (empty) tables and the shards.
	ShellDB, ShardDB string
	// DefaultShardCount for CREATE TABLE (0: catalog default).
	DefaultShardCount int
	// DefaultDistribution is the server-wide default of the
	// distgres.default_distribution setting.
	DefaultDistribution string
	// Mover, when set, runs node changes and shard moves for the admin
	// functions (distgres_node_add, distgres_rebalance, ...).
	Mover *shardmove.Mover
	// MaxMessageSize bounds a client message (default 64 MiB).
	MaxMessageSize int
	Logger         *slog.Logger
}

// Server accepts client connections.
type Server struct {
	cfg      Config
	log      *slog.Logger
	types    *pgtype.Map
	settings settingsTracker
	stmts    executor.StatementCache
	// shipSlots bounds the statements shipping rows through temporary
	// tables at once (executor.Runtime.ShipSlots).
	shipSlots chan struct{}
	owners    sync.Map // *pgconn.PgConn -> *session using it
	// poll decides when reads poll their sockets (poll.go).
	poll   pollGate
	ddlMu  sync.Mutex
	blocks blockRegistry // data node backends of open blocks (deadlock.go)

	mu       sync.Mutex
	sessions map[uint32]*session
	nextPID  atomic.Uint32
	wg       sync.WaitGroup

	serverVersion string
	versionOnce   sync.Once
}

// New returns a coordinator server.
func New(cfg Config) *Server {
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = 64 << 20
	}
	if cfg.Database == "" {
		cfg.Database = "postgres"
	}
	if cfg.ShellDB == "" {
		cfg.ShellDB = cfg.Database
	}
	if cfg.ShardDB == "" {
		cfg.ShardDB = "distgres_shards"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A quarter of a node pool's sessions at most hold shipped rows.
	s := &Server{cfg: cfg, log: log, types: pgtype.NewMap(), sessions: map[uint32]*session{}, shipSlots: make(chan struct{}, datanode.DefaultMaxConns/4)}
	s.poll.limit = int32(max(1, runtime.NumCPU()/4))
	s.nextPID.Store(uint32(time.Now().UnixNano()%100000) + 1000)
	return s
}

// Serve accepts connections on ln until ctx is done or ln is closed. It
// returns after every session has ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer s.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				s.closeSessions()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("coordinator: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c)
		}()
	}
}

func (s *Server) closeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		ss.conn.Close()
	}
}

func (s *Server) register(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		pid := s.nextPID.Add(1)
		if _, taken := s.sessions[pid]; !taken && pid != 0 {
			ss.pid = pid
			break
		}
	}
	var b [4]byte
	rand.Read(b[:])
	ss.secret = binary.BigEndian.Uint32(b[:])
	s.sessions[ss.pid] = ss
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss.pid)
}

// cancel cancels the running statement of the session with that key.
func (s *Server) cancel(pid, secret uint32) {
	s.mu.Lock()
	ss := s.sessions[pid]
	s.mu.Unlock()
	if ss == nil || ss.secret != secret {
		return
	}
	ss.cancelStatement()
}
