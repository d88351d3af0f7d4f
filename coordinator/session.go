package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"sync"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

// session is one client connection's state.
type session struct {
	srv      *Server
	conn     net.Conn
	be       *pgproto3.Backend
	w        *writer
	user     string
	database string
	pid      uint32
	secret   uint32

	settings sessionSettings
	tx       *transaction
	// failed is set when a statement in a transaction block failed: the
	// block only accepts ROLLBACK until it ends (25P02).
	failed bool

	// act counts the session in the server's pollGate.
	act *activity

	stmts   map[string]*prepared
	portals map[string]*portal
	plans   planCache
	// parses are recent query strings' statements (parseCached).
	parses *lru[[]parsedStatement]
	// seqs are the session's last values of global sequences (currval,
	// lastval).
	seqs sessionSequences
	// writing is set while a statement that writes runs: the transaction
	// members it uses are known writers at commit.
	writing bool
	// skipToSync: an extended-protocol error happened; messages are
	// ignored until Sync.
	skipToSync bool

	mu     sync.Mutex
	cancel context.CancelFunc // of the running statement
	victim victimMark         // set when cancel was called to break a deadlock

	noticeMu sync.Mutex
	notices  []*pgconn.Notice
}

func newSession(srv *Server, c net.Conn, be *pgproto3.Backend, w *writer, act *activity, params map[string]string) *session {
	ss := &session{
		srv: srv, conn: c, be: be, w: w, act: act,
		user: params["user"], database: params["database"],
		stmts: map[string]*prepared{}, portals: map[string]*portal{},
	}
	if ss.database == "" {
		ss.database = ss.user
	}
	ss.settings.init(params, srv.cfg.DefaultDistribution)
	ss.plans.init(256)
	ss.parses = newLRU[[]parsedStatement](parseCacheBytes)
	return ss
}

// begin finishes startup: checks the startup settings on a data node and
// sends the parameter statuses, the cancel key and ReadyForQuery.
func (ss *session) begin(ctx context.Context) error {
	values, err := ss.startupValues(ctx)
	if err != nil {
		return err
	}
	for _, name := range reportedSettings {
		if v, ok := values[name]; ok {
			ss.w.send(&pgproto3.ParameterStatus{Name: name, Value: v})
		}
	}
	ss.w.send(&pgproto3.BackendKeyData{ProcessID: ss.pid, SecretKey: ss.secret})
	ss.readyForQuery()
	return ss.w.flush()
}

func (ss *session) txStatus() byte {
	switch {
	case ss.tx == nil:
		return 'I'
	case ss.failed:
		return 'E'
	default:
		return 'T'
	}
}

func (ss *session) readyForQuery() {
	ss.w.send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus()})
}

// run reads and serves messages until the client leaves.
func (ss *session) run(ctx context.Context) {
	defer ss.end()
	defer ss.act.end()
	for {
		msg, err := ss.be.Receive()
		if err == nil {
			ss.act.received()
		}
		if err != nil {
			// A decoded message with an error is malformed; otherwise the
			// connection failed or the client left.
			if msg != nil || (!errors.Is(err, net.ErrClosed) && !isEOF(err)) {
				ss.w.send(errorResponse(&pgerr.Error{Severity: "FATAL", Code: pgerr.ProtocolViolation, Message: "invalid frontend message: " + err.Error()}, 0))
				ss.w.flush()
			}
			return
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			ss.skipToSync = false
			if err := ss.guard(func() error { ss.simpleQuery(ctx, m.String); return nil }); err != nil {
				ss.sendError(err, 0)
			}
			ss.readyForQuery()
			if ss.w.flush() != nil {
				return
			}
			ss.act.answer()
		case *pgproto3.Parse:
			ss.extended(func() error { return ss.parse(ctx, m) })
		case *pgproto3.Bind:
			ss.extended(func() error { return ss.bind(ctx, m) })
		case *pgproto3.Describe:
			ss.extended(func() error { return ss.describe(m) })
		case *pgproto3.Execute:
			ss.extended(func() error { return ss.execute(ctx, m) })
		case *pgproto3.Close:
			ss.extended(func() error { return ss.close(m) })
		case *pgproto3.Sync:
			ss.skipToSync = false
			ss.sync(ctx)
			ss.readyForQuery()
			if ss.w.flush() != nil {
				return
			}
			ss.act.answer()
		case *pgproto3.Flush:
			if ss.w.flush() != nil {
				return
			}
		case *pgproto3.Terminate:
			return
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Outside COPY these are ignored, as PostgreSQL does.
		case *pgproto3.FunctionCall:
			ss.extended(func() error {
				return pgerr.Unsupported("Call the function with SELECT.", "the function call protocol message is not supported")
			})
			if ss.w.flush() != nil {
				return
			}
		default:
			ss.w.send(errorResponse(&pgerr.Error{Severity: "FATAL", Code: pgerr.ProtocolViolation, Message: "unexpected message"}, 0))
			ss.w.flush()
			return
		}
	}
}

// extended runs one extended-protocol step, entering skip-to-Sync mode on
// error.
func (ss *session) extended(step func() error) {
	if ss.skipToSync {
		return
	}
	if err := ss.guard(step); err != nil {
		ss.sendError(err, 0)
		ss.skipToSync = true
	}
}

// sendError reports a statement error and fails an open transaction.
func (ss *session) sendError(err error, posOffset int32) {
	err = ss.deadlockError(err)
	if ss.tx != nil {
		ss.failed = true
	}
	ss.drainNotices()
	ss.w.send(errorResponse(err, posOffset))
}

// complete ends a statement's result.
func (ss *session) complete(tag string) {
	ss.clearVictim()
	ss.drainNotices()
	ss.w.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
}

// statementContext returns the context of a statement, cancellable by a
// CancelRequest.
func (ss *session) statementContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	ss.mu.Lock()
	ss.cancel = cancel
	ss.mu.Unlock()
	return ctx, func() {
		ss.mu.Lock()
		ss.cancel = nil
		ss.mu.Unlock()
		cancel()
	}
}

func (ss *session) cancelStatement() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cancel != nil {
		ss.cancel()
	}
}

// end releases everything the session holds.
func (ss *session) end() {
	for name, p := range ss.portals {
		p.close()
		delete(ss.portals, name)
	}
	if ss.tx != nil {
		ss.tx.finish(context.Background(), "ROLLBACK")
		ss.tx = nil
	}
}

func isEOF(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	s := err.Error()
	return s == "EOF" || s == "unexpected EOF"
}

// runtime builds the executor runtime for a statement.
func (ss *session) runtime(resultFormats []int16) *executor.Runtime {
	return &executor.Runtime{Conns: sessionConns{ss}, ResultFormats: resultFormats, Types: ss.srv.types, Stmts: &ss.srv.stmts, MaxIntermediateBytes: ss.maxIntermediate(), MaxBroadcastBytes: ss.maxBroadcast(), InBlock: ss.tx != nil, ShipSlots: ss.srv.shipSlots}
}

// guard runs one statement step, turning a panic (a distgres bug) into an
// internal error for that statement instead of ending the session.
func (ss *session) guard(step func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ss.srv.log.Error("statement panicked", "panic", r, "stack", string(debug.Stack()))
			err = &pgerr.Error{Code: pgerr.InternalError, Message: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	return step()
}
