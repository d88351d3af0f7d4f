package coordinator

import (
	"context"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// settingsTracker remembers which session settings each pooled data-node
// connection carries, so that they are re-applied only when they differ.
type settingsTracker struct {
	m sync.Map // *pgconn.PgConn -> string (settings signature)
}

func (t *settingsTracker) get(pc *pgconn.PgConn) string {
	v, ok := t.m.Load(pc)
	if !ok {
		return ""
	}
	return v.(string)
}

func (t *settingsTracker) set(pc *pgconn.PgConn, sig string) {
	if sig == "" {
		t.m.Delete(pc)
		return
	}
	t.m.Store(pc, sig)
}

// dirty marks a connection whose settings are unknown.
const dirty = "\x00dirty"

// sessionConns lends data-node connections to the executor on behalf of a
// session: pinned ones inside a transaction block, pooled ones otherwise,
// each carrying the session's settings.
type sessionConns struct{ ss *session }

var _ executor.ConnSource = sessionConns{}

func (c sessionConns) Acquire(ctx context.Context, node catalog.Node, db string) (executor.Conn, error) {
	if c.ss.tx != nil {
		return c.ss.tx.acquire(ctx, node, db)
	}
	return c.ss.pooled(ctx, node, db)
}

// pooled acquires a pooled connection with the session's settings.
func (ss *session) pooled(ctx context.Context, node catalog.Node, db string) (*pooledConn, error) {
	pool, err := ss.srv.cfg.Pools.Get(ctx, int32(node.ID), node.Host, node.Port, db)
	if err != nil {
		return nil, connectError(node, err)
	}
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return nil, connectError(node, err)
	}
	conn := &pooledConn{pc: pc, tracker: &ss.srv.settings, stmts: &ss.srv.stmts, owners: &ss.srv.owners}
	if owner, ok := ss.srv.owners.Load(conn.PgConn()); !ok || owner != ss {
		ss.srv.owners.Store(conn.PgConn(), ss) // a store allocates; most acquires find it set
	}
	if err := ss.applySettings(ctx, conn.PgConn()); err != nil {
		conn.Release(true)
		return nil, err
	}
	return conn, nil
}

func connectError(node catalog.Node, err error) error {
	if pgerr.Code(err) != "" {
		return err
	}
	return &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "could not connect to data node " + node.Name + ": " + err.Error(), Err: err}
}

// applySettings brings a connection's settings in line with the session's.
func (ss *session) applySettings(ctx context.Context, pc *pgconn.PgConn) error {
	sig := ss.settings.signature()
	tr := &ss.srv.settings
	if tr.get(pc) == sig {
		return nil
	}
	if _, err := pc.Exec(ctx, ss.settings.applySQL()).ReadAll(); err != nil {
		return err
	}
	tr.set(pc, sig)
	return nil
}

type pooledConn struct {
	pc      *pgxpool.Conn
	tracker *settingsTracker
	stmts   *executor.StatementCache
	owners  *sync.Map
}

func (p *pooledConn) PgConn() *pgconn.PgConn { return p.pc.Conn().PgConn() }

// Retryable: a pooled connection holds no session state beyond settings.
func (p *pooledConn) Retryable() bool { return true }

func (p *pooledConn) Release(broken bool) {
	pc := p.PgConn()
	p.owners.Delete(pc)
	if broken || pc.TxStatus() != 'I' {
		pc.Close(context.Background())
	}
	if pc.IsClosed() {
		p.tracker.set(pc, "")
		p.stmts.Forget(pc)
	}
	p.pc.Release()
}
