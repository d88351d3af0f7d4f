// Package gtm is the global transaction manager: it makes work that spans
// data nodes atomic with two-phase commit, keeps the commit decisions in
// the catalog's Raft log, and recovers in-doubt prepared transactions.
//
// The protocol for one global transaction:
//
//  1. BeginTx through the log: the transaction is pending (DDL records its
//     catalog change to make on commit and on abort, and may apply a
//     catalog change right away, e.g. to allocate shard IDs).
//  2. Every participant runs its statements and PREPARE TRANSACTION
//     'distgres_<id>_<node>_<database>'.
//  3. DecideTx through the log: the commit point. The catalog change of a
//     DDL statement is applied in the same log entry.
//  4. COMMIT PREPARED on every participant, then ForgetTx.
//
// A failure before step 3 rolls everything back. A crash at any point
// leaves a state that Recover resolves: a pending transaction whose
// coordinator is gone is aborted (presumed abort), a decided one is carried
// out on every node that still holds it, and prepared transactions nobody
// recorded are rolled back after a grace period.
package gtm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/datanode"
	"github.com/jackc/pgx/v5/pgconn"
)

// Log is the decision log: the catalog store.
type Log interface {
	Snapshot() *catalog.Snapshot
	Apply(ctx context.Context, cmd catalog.Command) (*catalog.Snapshot, error)
}

// Conn is a data node connection lent to the manager.
type Conn interface {
	PgConn() *pgconn.PgConn
	Release(broken bool)
}

// Acquire lends a connection to a database of a node.
type Acquire func(ctx context.Context, node catalog.Node, database string) (Conn, error)

// Config configures a Manager.
type Config struct {
	Log Log
	// Coordinator and Incarnation identify this coordinator process; they
	// are recorded with each transaction it begins.
	Coordinator string
	Incarnation string
	// Pools reach the data nodes for recovery.
	Pools *datanode.Pools
	// AdminDatabase is a database on every node used to list prepared
	// transactions (default "postgres").
	AdminDatabase string
	// Ping asks another coordinator for its incarnation and whether it
	// is still working on a transaction (nil: unknown).
	Ping func(ctx context.Context, raftAddr, txID string) (incarnation string, inFlight bool, err error)
	// Grace is how long a prepared transaction nobody recorded, or a
	// pending one whose coordinator cannot be reached, is left alone
	// before recovery rolls it back (default 30s).
	Grace time.Duration
	// Failpoint, if set, is called at the named steps of a global
	// transaction ("begun", "prepared", "decided", "committed"). An error
	// makes the transaction stop right there, without cleanup, as if the
	// coordinator had crashed.
	Failpoint func(step string) error
	Logger    *slog.Logger
}

// Manager drives global transactions and their recovery.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	inFlight map[string]bool // transactions this process is working on
	stop     chan struct{}
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.AdminDatabase == "" {
		cfg.AdminDatabase = "postgres"
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, inFlight: map[string]bool{}, stop: make(chan struct{})}
}

// Close stops the manager's background work (aborts waiting for a quorum).
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
}

// InFlight reports whether this process is still working on transaction
// id; recovery leaves such transactions alone.
func (m *Manager) InFlight(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inFlight[id]
}

func (m *Manager) track(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight[id] = true
}

func (m *Manager) untrack(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inFlight, id)
}

// NewID returns a fresh global transaction ID.
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *Manager) failpoint(step string) error {
	if m.cfg.Failpoint == nil {
		return nil
	}
	return m.cfg.Failpoint(step)
}
