package coordinator

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/datanode"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// transaction is an open transaction block: at most one connection per
// data node and database, each joined lazily with the block's BEGIN, its
// SET LOCALs and savepoints replayed so that all members agree.
type transaction struct {
	ss      *session
	begin   string
	members map[memberKey]*member
	order   []memberKey
	// replay holds the statements a joining member must run after BEGIN.
	replay []string
	mu     sync.Mutex // guards members against parallel DDL fan-out
	// implicit: opened by distgres around one statement or one
	// multi-statement query string, not by the client.
	implicit bool
	// deadlock identifies the block to the deadlock detector.
	deadlock blockIdentity
}

type memberKey struct {
	node catalog.NodeID
	db   string
}

type member struct {
	conn   *pooledConn
	broken bool
	// pending are the statements that open the block on this connection
	// (BEGIN, replayed savepoints and SET LOCALs), not sent yet: the
	// executor sends them in the same round trip as the first statement
	// (TakePreamble); any other use sends them first (PgConn).
	pending []string
	ctx     context.Context
	// wrote: a writing statement used it (see session.writing).
	wrote bool
	// ended: its transaction was ended by two-phase commit.
	ended bool
}

// PgConn returns the connection, with the block opened on it.
func (m *member) PgConn() *pgconn.PgConn {
	pc := m.conn.PgConn()
	if pre := m.TakePreamble(); len(pre) > 0 {
		if _, err := pc.Exec(m.ctx, strings.Join(pre, "; ")).ReadAll(); err != nil {
			// Nothing may run on it outside the block.
			m.broken = true
			pc.Close(context.WithoutCancel(m.ctx))
		}
	}
	return pc
}

// TakePreamble hands the block's opening statements to a caller that
// sends them ahead of its own, in one round trip.
func (m *member) TakePreamble() []string {
	pre := m.pending
	m.pending = nil
	return pre
}

// Retryable: a transaction's work cannot move to another connection.
func (m *member) Retryable() bool { return false }

// Release keeps the connection in the transaction; a broken connection
// fails the block.
func (m *member) Release(broken bool) {
	if broken {
		m.broken = true
	}
}

func (ss *session) beginTx(sql string) {
	ss.tx = &transaction{ss: ss, begin: sql, members: map[memberKey]*member{}, deadlock: newBlockIdentity()}
	ss.failed = false
}

func (tx *transaction) acquire(ctx context.Context, node catalog.Node, db string) (executor.Conn, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	k := memberKey{node.ID, db}
	if m, ok := tx.members[k]; ok {
		if m.broken || m.conn.PgConn().IsClosed() {
			return nil, &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "connection to data node " + node.Name + " was lost in this transaction"}
		}
		m.wrote = m.wrote || tx.ss.writing
		return m, nil
	}
	c, err := tx.ss.pooled(ctx, node, db)
	if err != nil {
		return nil, err
	}
	m := &member{conn: c, wrote: tx.ss.writing, ctx: context.WithoutCancel(ctx),
		pending: append([]string{tx.begin}, tx.replay...)}
	tx.members[k] = m
	tx.order = append(tx.order, k)
	tx.ss.srv.blocks.add(node.ID, c.PgConn().PID(), tx)
	return m, nil
}

// broadcast runs sql on every member and remembers it for later members.
func (tx *transaction) broadcast(ctx context.Context, sql string) error {
	tx.replay = append(tx.replay, sql)
	return tx.onMembers(ctx, sql)
}

func (tx *transaction) setLocal(ctx context.Context, sql string) error {
	return tx.broadcast(ctx, sql)
}

func (tx *transaction) onMembers(ctx context.Context, sql string) error {
	var first error
	for _, k := range tx.order {
		m := tx.members[k]
		if len(m.pending) > 0 {
			m.pending = append(m.pending, sql) // sent when it opens
			continue
		}
		if _, err := m.conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// finish ends the block on every member with COMMIT or ROLLBACK and
// returns the connections. A commit that wrote on more than one node's
// shard database goes through the transaction manager (two-phase commit);
// otherwise every member commits on its own, which is atomic because at
// most one of them wrote.
func (tx *transaction) finish(ctx context.Context, verb string) error {
	defer tx.release()
	if verb == "COMMIT" {
		if tx.hasBrokenMember() {
			tx.end(ctx, "ROLLBACK")
			return &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "a data node connection was lost; the transaction was rolled back"}
		}
		if g := tx.ss.srv.cfg.GTM; g != nil && len(tx.order) > 1 {
			writers, err := tx.shardWriters(ctx)
			if err != nil {
				tx.end(ctx, "ROLLBACK")
				return err
			}
			if len(writers) > 1 {
				// The writers' transactions end inside Commit; the others
				// wrote nothing that must be atomic with the shard writes:
				// the shell databases hold no rows (their part is
				// temporary tables of pulled results).
				for _, w := range writers {
					tx.members[memberKey{w.Participant.Node, w.Participant.Database}].ended = true
				}
				if err := g.Commit(ctx, writers); err != nil {
					tx.end(ctx, "ROLLBACK")
					return commitError(err)
				}
				if err := tx.end(ctx, "COMMIT"); err != nil {
					tx.ss.srv.log.Warn("committing read-only members after a two-phase commit", "err", err)
				}
				return nil
			}
		}
	}
	err := tx.end(ctx, verb)
	if err != nil && verb == "COMMIT" && !isServerErr(err) && pgerr.Code(err) == "" {
		// COMMIT was sent and no answer came: it may have committed.
		return &pgerr.Error{Code: pgerr.TransactionResolutionUnknown, Message: "the connection to a data node was lost during COMMIT; the transaction may or may not have committed", Err: err}
	}
	return err
}

func (tx *transaction) hasBrokenMember() bool {
	for _, k := range tx.order {
		m := tx.members[k]
		if m.broken || m.conn.PgConn().IsClosed() {
			return true
		}
	}
	return false
}

// shardWriters returns the shard database members that wrote: those a
// writing statement used, and those of the others that have a transaction
// ID (asked all at once; a SELECT can write through a function).
func (tx *transaction) shardWriters(ctx context.Context) ([]gtm.Branch, error) {
	var known, ask []memberKey
	for _, k := range tx.order {
		switch {
		case k.db != tx.ss.srv.cfg.ShardDB, len(tx.members[k].pending) > 0: // not a shard, or never opened
		case tx.members[k].wrote:
			known = append(known, k)
		default:
			ask = append(ask, k)
		}
	}
	conns := make([]*pgconn.PgConn, len(ask))
	probes := make([]string, len(ask))
	for i, k := range ask {
		conns[i], probes[i] = tx.members[k].PgConn(), "SELECT pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL"
	}
	results, errs := datanode.ExecAll(ctx, conns, probes)
	if err := cmp.Or(errs...); err != nil {
		return nil, err
	}
	for i, k := range ask {
		res := results[i]
		if len(res) == 1 && len(res[0].Rows) == 1 && string(res[0].Rows[0][0]) == "t" {
			known = append(known, k)
		}
	}
	out := make([]gtm.Branch, 0, len(known))
	for _, k := range known {
		out = append(out, gtm.Branch{Participant: catalog.Participant{Node: k.node, Database: k.db}, Conn: tx.members[k]})
	}
	return out, nil
}

// end sends verb (COMMIT or ROLLBACK) to every member still in a
// transaction and returns the first error.
func (tx *transaction) end(ctx context.Context, verb string) error {
	var first error
	for _, k := range tx.order {
		m := tx.members[k]
		pc := m.conn.PgConn()
		if m.ended || len(m.pending) > 0 {
			continue // ended by two-phase commit, or never opened
		}
		if m.broken || pc.IsClosed() {
			if first == nil && verb == "COMMIT" {
				first = &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "a data node connection was lost; the transaction was rolled back there"}
			}
			continue
		}
		if _, err := pc.Exec(ctx, verb).ReadAll(); err != nil {
			if !isServerErr(err) {
				m.broken = true
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// release returns the members' connections to their pools.
func (tx *transaction) release() {
	tx.ss.srv.blocks.remove(tx)
	for _, k := range tx.order {
		m := tx.members[k]
		m.conn.Release(m.broken || m.conn.PgConn().IsClosed())
	}
	tx.members = nil
}

// commitError gives a failed two-phase commit its SQLSTATE.
func commitError(err error) error {
	switch {
	case pgerr.Code(err) != "" && !errors.Is(err, gtm.ErrOutcomeUnknown):
		return err
	case errors.Is(err, gtm.ErrOutcomeUnknown):
		return &pgerr.Error{Code: pgerr.TransactionResolutionUnknown, Message: "the outcome of the commit is not known: " + err.Error(),
			Hint: "Every node prepared the transaction; transaction recovery commits or rolls it back once the coordinators have a quorum again.", Err: err}
	case errors.Is(err, catalog.ErrNoQuorum):
		return &pgerr.Error{Code: pgerr.CannotConnectNow, Message: "could not commit a transaction spanning several data nodes: no quorum of coordinators is reachable; it was rolled back", Err: err}
	}
	return &pgerr.Error{Code: pgerr.TransactionRollback, Message: "could not commit: " + err.Error(), Err: err}
}

// transactionStmt runs BEGIN, COMMIT, ROLLBACK and savepoints.
func (ss *session) transactionStmt(ctx context.Context, sql string, ts *pg_query.TransactionStmt) (string, error) {
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		if ss.tx != nil {
			ss.notice("25001", "there is already a transaction in progress")
			return "BEGIN", nil
		}
		ss.beginTx(sql)
		return "BEGIN", nil
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		if ss.tx == nil {
			ss.notice("25P01", "there is no transaction in progress")
			return "COMMIT", nil
		}
		tx, failed := ss.tx, ss.failed
		ss.tx, ss.failed = nil, false
		if failed {
			tx.finish(ctx, "ROLLBACK")
			return "ROLLBACK", nil
		}
		if err := tx.finish(ctx, "COMMIT"); err != nil {
			return "", err
		}
		return "COMMIT", nil
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if ss.tx == nil {
			ss.notice("25P01", "there is no transaction in progress")
			return "ROLLBACK", nil
		}
		tx := ss.tx
		ss.tx, ss.failed = nil, false
		return "ROLLBACK", tx.finish(ctx, "ROLLBACK")
	case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		if ss.tx == nil {
			return "", pgerr.New(pgerr.NoActiveSQLTransaction, "SAVEPOINT can only be used in transaction blocks")
		}
		return "SAVEPOINT", ss.tx.broadcast(ctx, sql)
	case pg_query.TransactionStmtKind_TRANS_STMT_RELEASE:
		if ss.tx == nil {
			return "", pgerr.New(pgerr.NoActiveSQLTransaction, "RELEASE SAVEPOINT can only be used in transaction blocks")
		}
		return "RELEASE", ss.tx.broadcast(ctx, sql)
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		if ss.tx == nil {
			return "", pgerr.New(pgerr.NoActiveSQLTransaction, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
		}
		if err := ss.tx.deadlockAborted(); err != nil {
			return "", err
		}
		if err := ss.tx.broadcast(ctx, sql); err != nil {
			return "", err
		}
		ss.failed = false
		return "ROLLBACK", nil
	}
	return "", pgerr.Unsupported("Use BEGIN and COMMIT; distgres runs two-phase commit itself.", "prepared transactions are managed by distgres and cannot be used directly")
}

// inFailedTx is PostgreSQL's error for statements in a failed block.
func inFailedTx() error {
	return pgerr.New(pgerr.InFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
}

// beginImplicit opens an implicit transaction unless one is open; it
// reports whether it did.
func (ss *session) beginImplicit() bool {
	if ss.tx != nil {
		return false
	}
	ss.beginTx("BEGIN")
	ss.tx.implicit = true
	return true
}

// endImplicit commits (ok) or rolls back the implicit transaction.
func (ss *session) endImplicit(ctx context.Context, ok bool) error {
	tx := ss.tx
	if tx == nil || !tx.implicit {
		return nil
	}
	ss.tx, ss.failed = nil, false
	if ok {
		return tx.finish(ctx, "COMMIT")
	}
	return tx.finish(context.WithoutCancel(ctx), "ROLLBACK")
}
