package gtm

import (
	"context"
	"errors"
	"fmt"

	"github.com/distgres/distgres/catalog"
)

// Branch is one participant of a transaction that the coordinator opened
// and hands to Commit. Commit does not release its connection for good:
// Release(true) only reports that the connection broke.
type Branch struct {
	Participant catalog.Participant
	Conn        Conn
}

// ErrRolledBack is returned by Commit when the transaction was rolled back
// on every participant (a participant refused to prepare, or recovery had
// already decided to abort it).
var ErrRolledBack = errors.New("gtm: the transaction was rolled back")

// Commit commits atomically a transaction that wrote on several
// participants: PREPARE TRANSACTION on each in parallel, the commit
// decision through the log (concurrent commits share the log's fsync),
// then COMMIT PREPARED on each in parallel. It returns nil once the
// decision is durable; participants that fail to commit after that are
// finished by recovery. On a refusal to prepare it returns the
// participant's error (e.g. a serialization failure) wrapped with
// ErrRolledBack; when the decision cannot be logged or confirmed,
// ErrOutcomeUnknown.
func (m *Manager) Commit(ctx context.Context, writers []Branch) error {
	// Once begun, a commit is not abandoned halfway because the client
	// went away.
	ctx = context.WithoutCancel(ctx)
	if err := m.waitReady(ctx); err != nil {
		m.resolveAll(ctx, "", branchesOf(writers), false)
		return fmt.Errorf("%w: %w", ErrRolledBack, err)
	}
	id := m.newID()
	m.track(id)
	defer m.untrack(id)
	branches := branchesOf(writers)
	parts := make([]catalog.Participant, len(writers))
	for i, w := range writers {
		parts[i] = w.Participant
	}
	if err := prepareAll(ctx, id, branches); err != nil {
		// Nothing was logged: presumed abort.
		m.resolveAll(ctx, id, branches, false)
		return fmt.Errorf("%w: %w", ErrRolledBack, err)
	}
	if err := m.failpoint("prepared"); err != nil {
		return err
	}
	if _, err := m.cfg.Log.Apply(ctx, catalog.DecideTx{ID: id, Commit: true, Participants: parts}); err != nil {
		if uncertain(ctx, err) {
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		// Recovery decided to abort it first.
		if m.resolveAll(ctx, id, branches, false) {
			m.forget(id)
		}
		return fmt.Errorf("%w: %w", ErrRolledBack, err)
	}
	if err := m.failpoint("decided"); err != nil {
		return err
	}
	if m.resolveAll(ctx, id, branches, true) {
		m.forget(id)
	}
	return m.failpoint("committed")
}

func branchesOf(writers []Branch) []*branch {
	out := make([]*branch, len(writers))
	for i, w := range writers {
		out[i] = &branch{p: w.Participant, conn: w.Conn}
	}
	return out
}
