package executor

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
)

// nodeStream is the rows of the statements of one Target, read from one
// connection. For several statements it walks their results in order.
type nodeStream struct {
	conn   Conn
	single *pgconn.ResultReader
	multi  *pgconn.MultiResultReader
	cur    *pgconn.ResultReader
	rows   int64
	verb   string
	err    error
	done   bool
	// stmts and stmtKey name the prepared statement used, forgotten if it
	// fails (e.g. its result type changed after DDL).
	stmts   *StatementCache
	stmtKey string

	// What is needed to send the statements again on a new connection when
	// the first one turns out to be dead before anything ran.
	ctx     context.Context
	rt      *Runtime
	target  Target
	params  Params
	formats []int16
	seen    bool // a row or a result arrived
	// sent: the batch reached the connection. pgconn's batch reader then
	// reports a connection that died mid-statement as "conn closed",
	// which it also uses for "nothing sent", so only the server's own
	// word that it ended the session lets the batch run again.
	sent bool
	// retries counts fresh connections tried after dead ones: a pool may
	// hold several idle connections a restarted node has closed.
	retries int
	// skip counts the results of preamble statements still to discard.
	skip int
	// batched sends even a single statement as a batch: pgconn's ExecParams
	// and ExecPrepared wait for the result's first message, which
	// PostgreSQL sends only once the statement produced output (for an
	// aggregate or a sort, when it is done), so the next node would get
	// its statement only then.
	batched bool
}

// startTarget sends the target's statements and returns their stream.
// With batched it does not wait for any answer, so that several nodes
// work in parallel; without it (one node), a single statement's first
// answer is read before it returns.
func startTarget(ctx context.Context, rt *Runtime, t Target, params Params, resultFormats []int16, batched bool) (*nodeStream, error) {
	if rt.Inlined != nil {
		t = inline(t, rt.Inlined)
	}
	s := &nodeStream{ctx: ctx, rt: rt, target: t, params: params, formats: resultFormats, batched: batched}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *nodeStream) start() error {
	ctx, rt, t, params, resultFormats := s.ctx, s.rt, s.target, s.params, s.formats
	conn, err := rt.Conns.Acquire(ctx, t.Node, t.Database)
	if err != nil {
		return err
	}
	s.conn = conn
	// A transaction block not opened on this connection yet opens in the
	// same round trip as the statements (Next discards its results).
	var pre []string
	if p, ok := conn.(PreambleConn); ok {
		pre = p.TakePreamble()
	}
	pc := conn.PgConn()
	sd := s.prepared(pc)
	if len(pre) == 0 && len(t.SQL) == 1 && !s.batched {
		if sd != nil {
			s.single = pc.ExecStatement(ctx, sd, params.Values, params.Formats, resultFormats)
		} else {
			s.single = pc.ExecParams(ctx, t.SQL[0], params.Values, params.OIDs, params.Formats, resultFormats)
		}
		s.cur = s.single
		return nil
	}
	batch := &pgconn.Batch{}
	for _, sql := range pre {
		batch.ExecParams(sql, nil, nil, nil, nil)
	}
	s.skip = len(pre)
	if sd != nil {
		batch.ExecStatement(sd, params.Values, params.Formats, resultFormats)
	} else {
		for _, sql := range t.SQL {
			batch.ExecParams(sql, params.Values, params.OIDs, params.Formats, resultFormats)
		}
	}
	s.multi = pc.ExecBatch(ctx, batch)
	s.sent = !pc.IsClosed()
	return nil
}

// prepared returns the target's statement prepared on pc (preparing it at
// its second use), or nil to send it unprepared: several statements, no
// statement cache, or a failed Prepare (running it unprepared reports the
// error as usual).
func (s *nodeStream) prepared(pc *pgconn.PgConn) *pgconn.StatementDescription {
	rt, t, params := s.rt, s.target, s.params
	if len(t.SQL) != 1 || rt.Stmts == nil || rt.Inlined != nil {
		return nil // one-off statements (shipped rows in their text)
	}
	key := stmtKey(t.SQL[0], params.OIDs)
	sd, prepare := rt.Stmts.lookup(pc, key)
	if prepare {
		var err error
		if sd, err = pc.Prepare(s.ctx, rt.Stmts.newName(), t.SQL[0], params.OIDs); err != nil {
			return nil
		}
		rt.Stmts.store(pc, key, sd)
	}
	if sd != nil {
		s.stmts, s.stmtKey = rt.Stmts, key
	}
	return sd
}

// maxDeadConnRetries bounds the connections tried after dead ones.
const maxDeadConnRetries = 16

// retry sends the statements again on a fresh connection when the pooled
// one was dead (the data node restarted since it was last used) and
// nothing ran: the node reported its shutdown, or nothing was sent.
func (s *nodeStream) retry(err error) bool {
	if s.seen || s.retries >= maxDeadConnRetries || !s.conn.Retryable() || !connectionLost(err) {
		return false
	}
	if s.sent && !serverEnded(err) {
		return false // the backend may have died after running it
	}
	s.retries++
	if s.multi != nil {
		s.multi.Close()
	}
	s.conn.Release(true)
	s.conn, s.single, s.multi, s.cur = nil, nil, nil, nil
	if err := s.start(); err != nil {
		s.err = err
		s.done = true
		return false
	}
	return true
}

// connectionLost: the server ended the session before running anything
// of ours (shutdown, crash, restart), or pgconn sent nothing.
func connectionLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return serverEnded(err)
	}
	return pgconn.SafeToRetry(err) || writeRefused(err)
}

// serverEnded: the server said it is ending the session (shutdown, crash
// of another backend, starting up); whatever of ours it was running
// rolled back.
func serverEnded(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Severity != "FATAL" {
		return false
	}
	switch pe.Code {
	case "57P01", "57P02", "57P03":
		return true
	}
	return false
}

// writeRefused: sending failed because the server had already closed the
// connection. Over a Unix socket a write to a closed peer fails at once
// (over TCP the bytes usually go out and the server's FATAL is read
// instead), and pgconn's batch path does not mark the error as nothing
// sent. The statements' closing Sync did not reach the server, so nothing
// of them committed.
func writeRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "write" &&
		(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET))
}

func (s *nodeStream) Next() bool {
	if s.done {
		return false
	}
	for {
		if s.cur == nil {
			if s.multi == nil || !s.multi.NextResult() {
				s.finish()
				if s.err != nil && s.retry(s.err) {
					s.err, s.done = nil, false
					continue
				}
				return false
			}
			if s.skip > 0 {
				s.skip--
				if _, err := s.multi.ResultReader().Close(); err != nil {
					s.err = err
					s.finish()
					return false
				}
				continue
			}
			s.cur = s.multi.ResultReader()
		}
		if s.cur.NextRow() {
			s.seen = true
			return true
		}
		tag, err := s.cur.Close()
		if err != nil {
			if s.retry(err) {
				continue
			}
			if s.err == nil {
				s.err = err
			}
			s.finish()
			return false
		}
		s.seen = true
		s.addTag(tag)
		s.cur = nil
		if s.multi == nil {
			s.finish()
			return false
		}
	}
}

func (s *nodeStream) addTag(tag pgconn.CommandTag) {
	s.rows += tag.RowsAffected()
	if s.verb == "" {
		s.verb = tagVerb(tag.String())
	}
}

func (s *nodeStream) finish() {
	if s.done {
		return
	}
	s.done = true
	if s.multi != nil {
		if err := s.multi.Close(); err != nil && s.err == nil {
			s.err = err
		}
	}
}

func (s *nodeStream) Values() [][]byte { return s.cur.Values() }

func (s *nodeStream) Err() error { return lostConnection(s.target.Node, s.err) }

// Close stops reading (discarding what remains), returns the connection and
// reports the first error.
func (s *nodeStream) Close() (string, error) {
	if s.conn == nil {
		return s.tag(), lostConnection(s.target.Node, s.err)
	}
	if !s.done {
		if s.cur != nil {
			tag, err := s.cur.Close()
			if err != nil && s.err == nil {
				s.err = err
			} else if err == nil {
				s.addTag(tag)
			}
			s.cur = nil
		}
		if s.multi != nil {
			for s.multi.NextResult() {
				tag, err := s.multi.ResultReader().Close()
				switch {
				case err != nil && s.err == nil:
					s.err = err
				case s.skip > 0:
					s.skip-- // a preamble statement's result
				case err == nil:
					s.addTag(tag)
				}
			}
		}
		s.finish()
	}
	if s.err != nil && s.stmts != nil {
		s.stmts.forget(s.conn.PgConn(), s.stmtKey)
	}
	broken := s.err != nil && !pgerr.FromDataNode(s.err)
	s.conn.Release(broken || s.conn.PgConn().IsClosed())
	s.conn = nil
	return s.tag(), lostConnection(s.target.Node, s.err)
}

// lostConnection turns err, when the connection to node ended without a
// server error (its backend or the whole server died, the network
// failed), into a connection failure (08006) that names the node; a bare
// "unexpected EOF" tells a client nothing. Other errors are returned as
// they are.
func lostConnection(node catalog.Node, err error) error {
	if err == nil || pgerr.Code(err) != "" {
		return err
	}
	reason := err.Error()
	var op *net.OpError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), pgconn.SafeToRetry(err):
		reason = "the server closed the connection"
	case errors.As(err, &op) && !op.Timeout():
	default:
		return err
	}
	return &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "connection to data node " + node.Name + " lost: " + reason, Err: err}
}

func (s *nodeStream) tag() string {
	return formatTag(s.verb, s.rows)
}

// tagVerb returns the command of a tag ("INSERT", "SELECT", "UPDATE"...).
func tagVerb(tag string) string {
	for i := 0; i < len(tag); i++ {
		if tag[i] == ' ' {
			return tag[:i]
		}
	}
	return tag
}

// formatTag builds a command tag with a row count.
func formatTag(verb string, rows int64) string {
	switch verb {
	case "INSERT":
		return "INSERT 0 " + strconv.FormatInt(rows, 10)
	case "SELECT", "UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY":
		return verb + " " + strconv.FormatInt(rows, 10)
	default:
		return verb
	}
}
