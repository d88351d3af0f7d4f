package coordinator

import (
	"context"
	"strings"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
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
}

type memberKey struct {
	node catalog.NodeID
	db   string
}

type member struct {
	conn   *pooledConn
	broken bool
}

func (m *member) PgConn() *pgconn.PgConn { return m.conn.PgConn() }

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
	ss.tx = &transaction{ss: ss, begin: sql, members: map[memberKey]*member{}}
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
		return m, nil
	}
	c, err := tx.ss.pooled(ctx, node, db)
	if err != nil {
		return nil, err
	}
	q := strings.Join(append([]string{tx.begin}, tx.replay...), "; ")
	if _, err := c.PgConn().Exec(ctx, q).ReadAll(); err != nil {
		c.Release(true)
		return nil, err
	}
	m := &member{conn: c}
	tx.members[k] = m
	tx.order = append(tx.order, k)
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
		if _, err := m.conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// finish ends the block on every member with COMMIT or ROLLBACK and
// returns the connections. Members are committed one after another: a
// block that wrote on several nodes is not atomic until the global
// transaction manager runs two-phase commit.
func (tx *transaction) finish(ctx context.Context, verb string) error {
	var first error
	for _, k := range tx.order {
		m := tx.members[k]
		pc := m.conn.PgConn()
		if m.broken || pc.IsClosed() {
			if first == nil && verb == "COMMIT" {
				first = &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "a data node connection was lost; the transaction was rolled back there"}
			}
			m.conn.Release(true)
			continue
		}
		_, err := pc.Exec(ctx, verb).ReadAll()
		if err != nil && first == nil {
			first = err
		}
		m.conn.Release(err != nil && !isServerErr(err))
	}
	tx.members = nil
	return first
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
