// Package gtm is the global transaction manager: it makes work that spans
// data nodes atomic with two-phase commit, keeps the commit decisions in
// the catalog's Raft log, and recovers in-doubt prepared transactions.
//
// A global transaction ID is the coordinator's incarnation (16 hex digits,
// new at every start) followed by 8 random hex digits; each participant
// prepares as 'distgres_<id>_<node>_<database>'.
//
// A transaction block (Commit), after its statements ran:
//
//  1. PREPARE TRANSACTION on every participant that wrote.
//  2. DecideTx (commit) through the log: the commit point. Concurrent
//     commits share the log's fsync (Raft appends them in one batch).
//  3. COMMIT PREPARED on every participant; the record is forgotten in a
//     batch later.
//
// A DDL statement (RunDDL) logs its intent first (BeginTx, which may apply
// a catalog change at once, e.g. to allocate shard IDs), runs its
// statements and prepares them, and applies its catalog change in the
// same log entry as its commit decision.
//
// A failure before the decision rolls everything back. A crash at any
// point leaves a state that Recover resolves: a decided transaction is
// carried out on every node that still holds it; a pending one, or a
// prepared one with no record, is aborted once the coordinator run that
// made it is over or says it no longer works on it (presumed abort; the
// abort is logged first so that a late commit decision fails).
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
	// Ready, if set, is closed once this coordinator's incarnation is in
	// the catalog; no global transaction starts before that, so recovery
	// never mistakes a new coordinator's transactions for a dead one's.
	Ready <-chan struct{}
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
	forgets  chan string
	stop     chan struct{}

	seqs sequenceRanges
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
	m := &Manager{cfg: cfg, log: log, inFlight: map[string]bool{}, forgets: make(chan string, 1024), stop: make(chan struct{})}
	go m.forgetLoop()
	return m
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

// NewID returns 20 random lowercase hex digits (a coordinator incarnation
// is the first 16 of one).
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// waitReady waits (up to 10 seconds) until the coordinator's incarnation
// is registered, which needs a quorum.
func (m *Manager) waitReady(ctx context.Context) error {
	if m.cfg.Ready == nil {
		return nil
	}
	select {
	case <-m.cfg.Ready:
		return nil
	default:
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-m.cfg.Ready:
		return nil
	case <-t.C:
		return catalog.ErrNoQuorum
	case <-ctx.Done():
		return ctx.Err()
	case <-m.stop:
		return catalog.ErrClosed
	}
}

func (m *Manager) failpoint(step string) error {
	if m.cfg.Failpoint == nil {
		return nil
	}
	return m.cfg.Failpoint(step)
}

// newID returns a fresh global transaction ID: this coordinator's
// incarnation followed by random digits, so that recovery can tell from a
// prepared transaction's name alone which coordinator run made it.
func (m *Manager) newID() string {
	inc := m.cfg.Incarnation
	if len(inc) != catalog.IncarnationLen || !isHex(inc) {
		inc = NewID()[:catalog.IncarnationLen]
	}
	var b [4]byte
	rand.Read(b[:])
	return inc + hex.EncodeToString(b[:])
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
