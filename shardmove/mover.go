package shardmove

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/datanode"
)

// Config wires a Mover to its coordinator.
type Config struct {
	Store catalog.Store
	// ShellDB and ShardDB are the databases on each data node holding the
	// logical tables and the shard tables; AdminDB is one that always
	// exists (default "postgres").
	ShellDB, ShardDB, AdminDB string
	// User is the role moves connect as (default "postgres"); passwords
	// come from PGPASSWORD or ~/.pgpass as for any libpq client.
	User string
	// Coordinator and Incarnation identify the running coordinator; they
	// are recorded with each move it starts.
	Coordinator, Incarnation string
	// Binaries locate pg_dump and psql, which copy schemas.
	Binaries datanode.Binaries
	// Ping asks another coordinator (by Raft address) for its incarnation
	// and whether it still works on the move id.
	Ping func(ctx context.Context, raftAddr, id string) (incarnation string, inFlight bool, err error)
	// Grace is how long an unanswered move is left alone (default 30s).
	Grace time.Duration
	// CutoverAttempts bounds how often a cut-over is tried when writers
	// keep the source tables busy (default 5); LockTimeout bounds each
	// wait for them (default 3s).
	CutoverAttempts int
	LockTimeout     time.Duration
	// Failpoint, when set, is called at the steps of a move ("move-copying"
	// once the subscription exists, "move-frozen" with the source locked,
	// "move-switched" after the placement switched), for crash tests.
	Failpoint func(step string) error
	Logger    *slog.Logger
}

// Mover runs shard moves for one coordinator.
type Mover struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	running map[string]*Progress
}

// Progress describes a move this coordinator runs.
type Progress struct {
	ID         string
	Shards     []int64
	Source     string
	Target     string
	Phase      string
	BytesTotal int64
	BytesDone  int64
	Started    time.Time
}

// New returns a Mover.
func New(cfg Config) *Mover {
	if cfg.AdminDB == "" {
		cfg.AdminDB = "postgres"
	}
	if cfg.User == "" {
		cfg.User = datanode.DefaultPoolUser
	}
	if cfg.Grace == 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.CutoverAttempts == 0 {
		cfg.CutoverAttempts = 5
	}
	if cfg.LockTimeout == 0 {
		cfg.LockTimeout = 3 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Mover{cfg: cfg, log: log, running: make(map[string]*Progress)}
}

// InFlight reports whether this coordinator is running move id.
func (m *Mover) InFlight(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.running[id]
	return ok
}

// Running returns the progress of the moves this coordinator runs.
func (m *Mover) Running() []Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Progress, 0, len(m.running))
	for _, p := range m.running {
		c := *p
		c.Shards = slices.Clone(p.Shards)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Progress) int { return a.Started.Compare(b.Started) })
	return out
}

func (m *Mover) track(p *Progress) func() {
	m.mu.Lock()
	m.running[p.ID] = p
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.running, p.ID)
		m.mu.Unlock()
	}
}

func (m *Mover) update(p *Progress, change func(*Progress)) {
	m.mu.Lock()
	change(p)
	m.mu.Unlock()
}

func (m *Mover) failpoint(step string) error {
	if m.cfg.Failpoint == nil {
		return nil
	}
	return m.cfg.Failpoint(step)
}

// newMoveID returns 16 random lowercase hex digits.
func newMoveID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// objectName is the name of a move's publication, subscription and
// replication slot.
func objectName(id string) string { return "distgres_move_" + id }
