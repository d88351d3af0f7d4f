package gtm

import (
	"context"
	"errors"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5/pgconn"
)

// branch is one participant's open transaction.
type branch struct {
	p        catalog.Participant
	conn     Conn
	prepared bool
	// ended: a PREPARE was sent and failed, which ends the transaction.
	ended bool
}

// uncertain reports whether a failed log append may still commit.
func uncertain(ctx context.Context, err error) bool {
	return errors.Is(err, catalog.ErrOutcomeUnknown) || ctx.Err() != nil
}

// prepareBranch prepares b's transaction under its global name.
func prepareBranch(ctx context.Context, id string, b *branch) error {
	if _, err := b.conn.PgConn().Exec(ctx, "PREPARE TRANSACTION "+sqlquote.Literal(catalog.PreparedName(id, b.p))).ReadAll(); err != nil {
		b.ended = true
		return err
	}
	b.prepared = true
	return nil
}

// abort logs the abort decision (undoing Before) and rolls back every
// branch.
func (m *Manager) abort(ctx context.Context, id string, branches []*branch) {
	ctx = context.WithoutCancel(ctx)
	if _, err := m.cfg.Log.Apply(ctx, catalog.DecideTx{ID: id, Commit: false}); err != nil {
		m.log.Warn("gtm: logging an abort failed; recovery will roll it back", "tx", id, "err", err)
		for _, b := range branches {
			if b.conn != nil && !b.prepared {
				rollbackOpen(ctx, b.conn)
			}
		}
		releaseAll(branches, false)
		return
	}
	m.finish(ctx, id, branches, false)
}

// finish commits or rolls back every branch and forgets the transaction
// when all of them are done.
func (m *Manager) finish(ctx context.Context, id string, branches []*branch, commit bool) {
	if m.resolveAll(ctx, id, branches, commit) {
		m.forget(id)
	}
}

// resolveAll commits or rolls back every branch, in parallel, and reports
// whether all of them are done.
func (m *Manager) resolveAll(ctx context.Context, id string, branches []*branch, commit bool) bool {
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := true
	for _, b := range branches {
		if b.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch {
			case b.prepared:
				err = resolvePrepared(ctx, b.conn.PgConn(), catalog.PreparedName(id, b.p), commit)
			case !b.ended:
				rollbackOpen(ctx, b.conn)
			}
			b.conn.Release(err != nil && !pgerr.FromDataNode(err))
			b.conn = nil
			if err != nil {
				m.log.Warn("gtm: finishing a prepared transaction failed; recovery will retry", "tx", id, "node", b.p.Node, "err", err)
				mu.Lock()
				done = false
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return done
}

// rollbackOpen ends a transaction that was not prepared.
func rollbackOpen(ctx context.Context, c Conn) {
	c.PgConn().Exec(ctx, "ROLLBACK").ReadAll()
}

func releaseAll(branches []*branch, broken bool) {
	for _, b := range branches {
		if b.conn != nil {
			b.conn.Release(broken)
			b.conn = nil
		}
	}
}

// resolvePrepared commits or rolls back a prepared transaction; one that
// no longer exists was resolved already.
func resolvePrepared(ctx context.Context, pc *pgconn.PgConn, gid string, commit bool) error {
	verb := "ROLLBACK PREPARED "
	if commit {
		verb = "COMMIT PREPARED "
	}
	_, err := pc.Exec(ctx, verb+sqlquote.Literal(gid)).ReadAll()
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42704" {
		return nil
	}
	return err
}
