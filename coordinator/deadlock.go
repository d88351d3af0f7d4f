package coordinator

// The coordinator's part in distributed deadlock detection (see
// gtm/deadlock.go): it tells the detector which data node backends work
// for which transaction block, and cancels the block the detector chose
// as the victim of a deadlock. The victim's client gets SQLSTATE 40P01, as
// from a deadlock PostgreSQL detects itself, and the block is rolled back
// on every data node at once so that the others can go on.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/pgerr"
)

// deadlockDetected is PostgreSQL's SQLSTATE for a deadlock.
const deadlockDetected = "40P01"

// victimRollbackTimeout bounds rolling back a victim's members.
const victimRollbackTimeout = 10 * time.Second

// blockIdentity names a transaction block for the deadlock detector.
type blockIdentity struct {
	id      string // unique across coordinators
	started time.Time
	// rolledBack: the block was the victim of a deadlock and was rolled
	// back on every member; only ROLLBACK (or COMMIT) can end it.
	rolledBack bool
}

func newBlockIdentity() blockIdentity {
	return blockIdentity{id: gtm.NewID(), started: time.Now()}
}

// deadlockVictim marks a session whose running statement was cancelled to
// break a deadlock.
type deadlockVictim struct {
	block, detail string
}

// victimMark is a session's pending deadlock cancel: set by
// CancelDeadlocked, taken by the statement's error or cleared by its
// success.
type victimMark = atomic.Pointer[deadlockVictim]

type backendKey struct {
	node catalog.NodeID
	pid  uint32
}

// blockRegistry holds the data node backends of the open transaction
// blocks of a Server: a backend is added when a block joins a connection
// and removed when the block ends.
type blockRegistry struct {
	mu       sync.Mutex
	backends map[backendKey]*transaction
	blocks   map[string]*transaction
}

func (r *blockRegistry) add(node catalog.NodeID, pid uint32, tx *transaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.backends == nil {
		r.backends = map[backendKey]*transaction{}
		r.blocks = map[string]*transaction{}
	}
	r.backends[backendKey{node, pid}] = tx
	r.blocks[tx.deadlock.id] = tx
}

// remove forgets every backend of tx; it runs before the connections go
// back to their pools, where another block may take them.
func (r *blockRegistry) remove(tx *transaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blocks[tx.deadlock.id] != tx {
		return
	}
	delete(r.blocks, tx.deadlock.id)
	for k, m := range tx.members {
		key := backendKey{k.node, m.conn.PgConn().PID()}
		if r.backends[key] == tx {
			delete(r.backends, key)
		}
	}
}

// Backends lists the data node backends of this coordinator's open
// transaction blocks, for the deadlock detector.
func (s *Server) Backends() []gtm.Backend {
	r := &s.blocks
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]gtm.Backend, 0, len(r.backends))
	for k, tx := range r.backends {
		out = append(out, gtm.Backend{Node: k.node, PID: k.pid, Block: tx.deadlock.id, Started: tx.deadlock.started})
	}
	return out
}

// CancelDeadlocked cancels the running statement of transaction block
// blockID, chosen as the victim of a deadlock that detail describes. The
// statement fails with SQLSTATE 40P01 and the block is rolled back. It
// reports false when the block has ended or runs no statement.
func (s *Server) CancelDeadlocked(blockID, detail string) bool {
	r := &s.blocks
	r.mu.Lock()
	defer r.mu.Unlock()
	tx := r.blocks[blockID]
	if tx == nil {
		return false
	}
	// The registry lock keeps the block from ending (release removes it
	// first), so the statement cancelled is one of this block's.
	ss := tx.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancel == nil {
		return false
	}
	ss.victim.Store(&deadlockVictim{block: blockID, detail: detail})
	ss.cancel()
	s.log.Info("cancelled a transaction block to break a distributed deadlock", "block", blockID, "session", ss.pid)
	return true
}

// deadlockError turns the error of a statement cancelled to break a
// deadlock into PostgreSQL's deadlock error, and rolls back the block on
// every member so that its locks are released at once. Other errors pass
// unchanged.
func (ss *session) deadlockError(err error) error {
	v := ss.victim.Swap(nil)
	if v == nil {
		return err
	}
	switch pgerr.Code(err) {
	case pgerr.QueryCanceled, pgerr.ConnectionFailure, "":
		// The cancel, or a data node connection it closed.
	default:
		return err
	}
	if tx := ss.tx; tx != nil && tx.deadlock.id == v.block && !tx.deadlock.rolledBack {
		ss.rollbackVictim(tx)
	}
	ss.srv.log.Debug("statement of a deadlock victim failed", "block", v.block, "err", err)
	// The original error is left out: a data node's own 57014 inside it
	// would be what the client sees.
	return &pgerr.Error{Code: deadlockDetected, Message: "deadlock detected", Detail: v.detail,
		Hint: "The transaction was rolled back on every data node to let the others proceed; end it with ROLLBACK and retry it."}
}

// clearVictim forgets a cancel that came too late: the statement it was
// meant for succeeded.
func (ss *session) clearVictim() {
	if ss.victim.Load() != nil {
		ss.victim.Store(nil)
	}
}

// rollbackVictim rolls back every member of a deadlock victim's block; the
// block stays open, failed, until the client ends it.
func (ss *session) rollbackVictim(tx *transaction) {
	ctx, cancel := context.WithTimeout(context.Background(), victimRollbackTimeout)
	defer cancel()
	if err := tx.end(ctx, "ROLLBACK"); err != nil {
		ss.srv.log.Warn("rolling back a deadlock victim", "block", tx.deadlock.id, "err", err)
	}
	for _, m := range tx.members {
		m.ended = true
	}
	tx.deadlock.rolledBack = true
	ss.srv.blocks.remove(tx)
}

// deadlockAborted refuses ROLLBACK TO SAVEPOINT in a block rolled back as
// a deadlock victim: its savepoints are gone from the data nodes.
func (tx *transaction) deadlockAborted() error {
	if !tx.deadlock.rolledBack {
		return nil
	}
	return &pgerr.Error{Code: pgerr.InFailedTransaction, Message: "current transaction is aborted, commands ignored until end of transaction block",
		Detail: "The transaction was rolled back on every data node to break a deadlock."}
}
