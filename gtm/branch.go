package gtm

import (
	"context"
	"errors"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/datanode"
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

// prepareAll prepares every branch under its global name, the nodes in
// parallel, and returns the first error.
func prepareAll(ctx context.Context, id string, branches []*branch) error {
	conns := make([]*pgconn.PgConn, len(branches))
	sqls := make([]string, len(branches))
	for i, b := range branches {
		conns[i], sqls[i] = b.conn.PgConn(), prepareSQL(id, b)
	}
	_, errs := datanode.ExecAll(ctx, conns, sqls)
	for i, b := range branches {
		b.prepared, b.ended = errs[i] == nil, errs[i] != nil
	}
	return firstError(errs)
}

func prepareSQL(id string, b *branch) string {
	return "PREPARE TRANSACTION " + sqlquote.Literal(catalog.PreparedName(id, b.p))
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

// resolveAll commits or rolls back every branch, the nodes in parallel,
// and reports whether all of them are done.
func (m *Manager) resolveAll(ctx context.Context, id string, branches []*branch, commit bool) bool {
	var sent []*branch
	var conns []*pgconn.PgConn
	var sqls []string
	for _, b := range branches {
		if b.conn == nil {
			continue
		}
		var sql string
		switch {
		case b.prepared:
			sql = resolveSQL(catalog.PreparedName(id, b.p), commit)
		case !b.ended:
			sql = "ROLLBACK"
		default: // a failed PREPARE ended it
			b.conn.Release(false)
			b.conn = nil
			continue
		}
		sent = append(sent, b)
		conns = append(conns, b.conn.PgConn())
		sqls = append(sqls, sql)
	}
	done := true
	_, errs := datanode.ExecAll(ctx, conns, sqls)
	for i, err := range errs {
		b := sent[i]
		if !b.prepared {
			err = nil // a failed ROLLBACK of an open transaction leaves nothing behind
		}
		err = resolvedAlready(err)
		b.conn.Release(err != nil && !pgerr.FromDataNode(err))
		b.conn = nil
		if err != nil {
			m.log.Warn("gtm: finishing a prepared transaction failed; recovery will retry", "tx", id, "node", b.p.Node, "err", err)
			done = false
		}
	}
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
	_, err := pc.Exec(ctx, resolveSQL(gid, commit)).ReadAll()
	return resolvedAlready(err)
}

func resolveSQL(gid string, commit bool) string {
	if commit {
		return "COMMIT PREPARED " + sqlquote.Literal(gid)
	}
	return "ROLLBACK PREPARED " + sqlquote.Literal(gid)
}

// resolvedAlready clears the error of a COMMIT or ROLLBACK PREPARED whose
// transaction no longer exists: an earlier attempt or recovery resolved it.
func resolvedAlready(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42704" {
		return nil
	}
	return err
}
