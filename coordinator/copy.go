package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

// copyIn runs COPY ... FROM STDIN: it asks the client for the data, cuts
// it into rows as it arrives, routes each row to its shard and streams the
// rows to the data nodes. The whole COPY is one transaction (two-phase
// commit when it wrote on several nodes): a bad row leaves nothing behind.
func (ss *session) copyIn(ctx context.Context, in *planner.CopyIn) (string, error) {
	if _, err := ss.awaitWrites(ctx, in.Table.ColocationID); err != nil {
		return "", err
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	table := in.Table
	if t, ok := snap.Table(table.Schema, table.Name); ok {
		table = t // placements may have moved since the statement was planned
	}
	implicit := ss.beginImplicit()
	ss.writing = true
	defer func() { ss.writing = false }()
	loader := executor.NewCopyLoader(ctx, executor.CopyLoaderOptions{
		Conns: sessionConns{ss}, Table: table, Catalog: snap,
		Database: ss.srv.cfg.ShardDB, SQL: in.ShardSQL, Binary: in.Options.Format == planner.CopyBinary,
	})
	n, err := ss.copyInRows(ctx, in, loader)
	if err != nil {
		loader.Abort()
		if implicit {
			ss.endImplicit(ctx, false)
		}
		return "", err
	}
	if n, err = loader.Finish(); err != nil {
		if implicit {
			ss.endImplicit(ctx, false)
		}
		return "", err
	}
	if implicit {
		if err := ss.endImplicit(ctx, true); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("COPY %d", n), nil
}

// copyInRows reads the client's COPY data and hands the rows to loader.
func (ss *session) copyInRows(ctx context.Context, in *planner.CopyIn, loader *executor.CopyLoader) (int64, error) {
	format := int16(0)
	if in.Options.Format == planner.CopyBinary {
		format = 1
	}
	codes := make([]uint16, len(in.Columns))
	for i := range codes {
		codes[i] = uint16(format)
	}
	ss.w.send(&pgproto3.CopyInResponse{OverallFormat: byte(format), ColumnFormatCodes: codes})
	if err := ss.w.flush(); err != nil {
		return 0, err
	}
	r := executor.NewCopyRowReader(in.Options, in.DistIndex)
	route := func(last bool) error {
		for {
			next := r.Next
			if last {
				next = r.Last
			}
			row, key, line, ok, err := next()
			if err != nil {
				return ss.copyRowError(in, err)
			}
			if !ok {
				return nil
			}
			shard, err := in.ShardOf(key)
			if err != nil && in.Options.Format != planner.CopyBinary {
				shard, err = ss.shardOfUnread(ctx, in, key)
			}
			if err != nil {
				return withCopyContext(err, in, line, in.DistIndex, key)
			}
			if err := loader.Add(shard, row, line); err != nil {
				return err
			}
		}
	}
	for {
		msg, err := ss.be.Receive()
		if err != nil {
			return 0, &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "connection lost during COPY", Err: err}
		}
		if ctx.Err() != nil {
			return 0, pgerr.Canceled()
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			r.Feed(m.Data)
			if err := route(false); err != nil {
				return 0, err
			}
		case *pgproto3.CopyDone:
			return 0, route(true)
		case *pgproto3.CopyFail:
			return 0, &pgerr.Error{Code: pgerr.QueryCanceled, Message: "COPY from stdin failed: " + m.Message,
				Where: fmt.Sprintf("COPY %s, line %d", in.Table.Name, r.Line()+1)}
		case *pgproto3.Flush, *pgproto3.Sync:
			// Ignored during COPY, as PostgreSQL does.
		case *pgproto3.Terminate:
			ss.conn.Close()
			return 0, &pgerr.Error{Code: pgerr.ConnectionFailure, Message: "the client ended the connection during COPY"}
		default:
			return 0, &pgerr.Error{Code: pgerr.ProtocolViolation, Message: fmt.Sprintf("unexpected message type 0x%02X during COPY from stdin", msgType(msg))}
		}
	}
}

func msgType(m pgproto3.FrontendMessage) byte {
	b, _ := m.Encode(nil)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// copyRowError reports a row the coordinator could not read as PostgreSQL
// would.
func (ss *session) copyRowError(in *planner.CopyIn, err error) error {
	var re *executor.CopyRowError
	if !errors.As(err, &re) {
		return err
	}
	msg := re.Msg
	if re.Column >= 0 && re.Column < len(in.Columns) {
		msg = fmt.Sprintf("%s \"%s\"", re.Msg, in.Columns[re.Column])
	}
	return withCopyContext(&pgerr.Error{Code: re.Code, Message: msg}, in, re.Line, -1, nil)
}

// shardOfUnread places a row whose distribution value (text) the
// coordinator could not read: PostgreSQL reads it, as a parameter of the
// column's type on the shell database, and fails with its own error for a
// bad value, or gives the value's canonical text, which the coordinator
// reads (" 42" for an integer, say).
func (ss *session) shardOfUnread(ctx context.Context, in *planner.CopyIn, key []byte) (int, error) {
	c, err := shell{ss}.conn(ctx)
	if err != nil {
		return 0, err
	}
	res := c.PgConn().ExecParams(ctx, "SELECT $1::pg_catalog.text", [][]byte{key}, []uint32{in.Table.DistType}, nil, nil).Read()
	c.Release(res.Err != nil && !isServerErr(res.Err))
	if res.Err != nil {
		return 0, res.Err
	}
	return in.ShardOf(res.Rows[0][0])
}

// withCopyContext adds PostgreSQL's COPY error context: the line, and the
// column and its text value when the error is about one (val; binary
// values are not shown).
func withCopyContext(err error, in *planner.CopyIn, line int64, col int, val []byte) error {
	where := fmt.Sprintf("COPY %s, line %d", in.Table.Name, line)
	if col >= 0 && col < len(in.Columns) {
		where += ", column " + in.Columns[col]
		if val != nil && in.Options.Format != planner.CopyBinary {
			where += `: "` + copyContextValue(val) + `"`
		}
	}
	var ne *pgconn.PgError
	if errors.As(err, &ne) {
		c := *ne
		c.Where = where
		return &c
	}
	var pe *pgerr.Error
	if errors.As(err, &pe) {
		c := *pe
		c.Where = where
		return &c
	}
	return &pgerr.Error{Code: pgerr.Code(err), Message: err.Error(), Where: where, Err: err}
}

// copyContextValue shortens a value for an error context as PostgreSQL
// does: at most 100 bytes, cut at a character boundary, then "...".
func copyContextValue(v []byte) string {
	const limit = 100
	if len(v) <= limit {
		return string(v)
	}
	n := limit
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return string(v[:n]) + "..."
}

// copyOut runs COPY ... TO STDOUT: every shard's own COPY for a table (in
// shard order), or the query's rows formatted by the coordinator.
func (ss *session) copyOut(ctx context.Context, out *planner.CopyOut) (string, error) {
	format := int16(0)
	if out.Options.Format == planner.CopyBinary {
		format = 1
	}
	cols := out.Columns
	if out.Query != nil {
		cols = nil
		for _, c := range out.Query.Columns {
			cols = append(cols, c.Name)
		}
	}
	codes := make([]uint16, len(cols))
	for i := range codes {
		codes[i] = uint16(format)
	}
	ss.w.send(&pgproto3.CopyOutResponse{OverallFormat: byte(format), ColumnFormatCodes: codes})
	if out.Options.Header && format == 0 {
		ss.w.copyData(executor.AppendCopyHeader(nil, cols, out.Options))
	}
	var n int64
	var err error
	if out.Query != nil {
		n, err = ss.copyOutQuery(ctx, out)
	} else {
		n, err = ss.copyOutTable(ctx, out)
	}
	if err != nil {
		return "", err
	}
	ss.w.send(&pgproto3.CopyDone{})
	return fmt.Sprintf("COPY %d", n), nil
}

// copyOutQuery runs a COPY (query) TO STDOUT: the coordinator formats the
// query's rows, asking the nodes for binary values for the binary format.
func (ss *session) copyOutQuery(ctx context.Context, out *planner.CopyOut) (int64, error) {
	binary := out.Options.Format == planner.CopyBinary
	var formats []int16
	if binary {
		formats = []int16{executor.BinaryFormat}
	}
	rows, err := out.Query.Root.Open(ctx, ss.runtime(formats), executor.Params{OIDs: out.Query.ParamOIDs})
	if err != nil {
		return 0, err
	}
	var buf []byte
	if binary {
		// As PostgreSQL does, the header goes with the first tuple.
		buf = append(buf, executor.CopyBinaryHeader...)
	}
	var n int64
	for rows.Next() {
		if binary {
			buf = executor.AppendCopyBinaryRow(buf, rows.Values())
		} else {
			buf = executor.AppendCopyRow(buf, rows.Values(), out.Options)
		}
		ss.w.copyData(buf)
		buf = buf[:0]
		n++
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, err
	}
	if _, err := rows.Close(); err != nil {
		return 0, err
	}
	if binary {
		ss.w.copyData(append(buf, executor.CopyBinaryTrailer...))
	}
	return n, nil
}

func (ss *session) copyOutTable(ctx context.Context, out *planner.CopyOut) (int64, error) {
	snap := ss.srv.cfg.Catalog.Snapshot()
	binary := out.Options.Format == planner.CopyBinary
	if binary {
		ss.w.copyData(executor.CopyBinaryHeader)
	}
	send := func(p []byte) error {
		ss.w.copyData(p)
		return ss.w.err
	}
	var total int64
	for i, sh := range out.Table.Shards {
		if out.Table.Method == catalog.MethodReplication && i > 0 {
			break
		}
		n, ok := snap.Node(sh.Placements[0])
		if !ok {
			return 0, fmt.Errorf("coordinator: shard %d is placed on unknown node %d", sh.ID, sh.Placements[0])
		}
		c, err := sessionConns{ss}.Acquire(ctx, n, ss.srv.cfg.ShardDB)
		if err != nil {
			return 0, err
		}
		var w interface{ Write([]byte) (int, error) } = copyDataWriter(send)
		var body *executor.BinaryCopyBody
		if binary {
			body = executor.NewBinaryCopyBody(send)
			w = body
		}
		tag, err := c.PgConn().CopyTo(ctx, w, out.ShardSQL(sh))
		c.Release(err != nil && !isServerErr(err))
		if err == nil && body != nil {
			err = body.End()
		}
		if err != nil {
			return 0, err
		}
		total += tag.RowsAffected()
	}
	if binary {
		ss.w.copyData(executor.CopyBinaryTrailer)
	}
	return total, nil
}

// copyDataWriter sends what a data node's COPY writes as CopyData.
type copyDataWriter func([]byte) error

func (f copyDataWriter) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// executeCopy runs the COPY of a portal (extended protocol). As in
// PostgreSQL, Execute plans and checks the statement, so its errors come
// from Execute; it runs to the end whatever the row limit, and the portal
// cannot run again.
func (ss *session) executeCopy(ctx context.Context, name string, p *portal) error {
	if ss.failed {
		return inFailedTx()
	}
	if p.done {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "portal \"%s\" cannot be run", name)
	}
	p.done = true
	ctx, done := ss.statementContext(ctx)
	defer done()
	plan, err := ss.plan(ctx, p.stmt.st, p.stmt.paramOIDs)
	if err != nil {
		return canceledOr(ctx, err)
	}
	var tag string
	switch plan.Kind {
	case planner.KindCopyIn:
		tag, err = ss.copyIn(ctx, plan.CopyIn)
	case planner.KindCopyOut:
		tag, err = ss.copyOut(ctx, plan.CopyOut)
	default:
		return fmt.Errorf("coordinator: COPY planned as kind %d", plan.Kind)
	}
	if err != nil {
		return canceledOr(ctx, err)
	}
	ss.complete(tag)
	return nil
}

var _ planner.CopyChecker = shell{}

// CheckCopy runs a COPY on the shell database with no data, for
// PostgreSQL's own checks of it (see planner.CopyChecker). In a
// transaction block it runs in a savepoint: a failed check must not abort
// the block's work on the shell.
func (s shell) CheckCopy(ctx context.Context, sql string, from bool, input []byte) error {
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	const savepoint = "distgres_copy_check"
	inBlock := s.ss.tx != nil
	if inBlock {
		if _, err := c.PgConn().Exec(ctx, "SAVEPOINT "+savepoint).ReadAll(); err != nil {
			c.Release(!isServerErr(err))
			return err
		}
	}
	if from {
		_, err = c.PgConn().CopyFrom(ctx, bytes.NewReader(input), sql)
	} else {
		_, err = c.PgConn().CopyTo(ctx, io.Discard, sql)
	}
	if inBlock && (err == nil || isServerErr(err)) {
		end := "RELEASE SAVEPOINT " + savepoint
		if err != nil {
			end = "ROLLBACK TO SAVEPOINT " + savepoint + "; " + end
		}
		if _, endErr := c.PgConn().Exec(ctx, end).ReadAll(); endErr != nil && err == nil {
			err = endErr
		}
	}
	c.Release(err != nil && !isServerErr(err))
	return err
}
