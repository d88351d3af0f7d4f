package coordinator

import (
	"context"
	"errors"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/planner"
	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// simpleQuery runs every statement of a Query message in turn, stopping at
// the first error.
func (ss *session) simpleQuery(ctx context.Context, query string) {
	if ss.fastPath(ctx, query) {
		return
	}
	stmts, err := ss.parseCached(query)
	if err != nil {
		ss.sendError(err, 0)
		return
	}
	if len(stmts) == 0 {
		ss.w.send(&pgproto3.EmptyQueryResponse{})
		return
	}
	// Several statements in one query string run as one implicit
	// transaction, as in PostgreSQL, unless they manage transactions.
	implicit := len(stmts) > 1 && !managesTransactions(stmts) && ss.beginImplicit()
	for i := range stmts {
		st := &stmts[i]
		if !ss.runStatement(ctx, st) {
			if implicit {
				ss.endImplicit(ctx, false)
			}
			return
		}
	}
	if implicit {
		if err := ss.endImplicit(ctx, true); err != nil {
			ss.sendError(err, 0)
		}
	}
}

func managesTransactions(stmts []parsedStatement) bool {
	for _, st := range stmts {
		if st.node.GetTransactionStmt() != nil {
			return true
		}
	}
	return false
}

// runStatement runs one statement of a simple query and reports whether
// the next may run.
func (ss *session) runStatement(ctx context.Context, st *parsedStatement) bool {
	ctx, done := ss.statementContext(ctx)
	defer done()
	if ss.failed && !allowedInFailedTx(st.node) {
		ss.sendError(inFailedTx(), 0)
		return false
	}
	tag, handled, err := ss.utility(ctx, st)
	if err != nil {
		ss.sendError(canceledOr(ctx, err), st.offset)
		return false
	}
	if handled {
		ss.complete(tag)
		return true
	}
	p, ok := ss.showStmt(st)
	if !ok {
		if p, err = ss.plan(ctx, st, nil); err != nil {
			ss.sendError(canceledOr(ctx, err), st.offset)
			return false
		}
	}
	if p.Kind == planner.KindCopyIn || p.Kind == planner.KindCopyOut {
		var tag string
		if p.Kind == planner.KindCopyIn {
			tag, err = ss.copyIn(ctx, p.CopyIn)
		} else {
			tag, err = ss.copyOut(ctx, p.CopyOut)
		}
		if err != nil {
			ss.sendError(canceledOr(ctx, err), st.offset)
			return false
		}
		ss.complete(tag)
		return true
	}
	if p.Kind == planner.KindDDL {
		tag, err := ss.runDDL(ctx, p.DDL)
		if err != nil {
			ss.sendError(canceledOr(ctx, err), st.offset)
			return false
		}
		ss.complete(tag)
		return true
	}
	// Planned again after each move that dropped a shard under the
	// plan (moves run in parallel), a bounded number of times.
	for attempt := 0; ; attempt++ {
		var takeOver func(error) bool
		if attempt < maxMoveRetries {
			takeOver = func(err error) bool { return ss.retryAfterMove(ctx, err, p) }
		}
		ok, moved := ss.runPlan(ctx, p, executor.Params{OIDs: p.ParamOIDs}, st.offset, takeOver)
		if !moved {
			return ok
		}
		if p, err = ss.plan(ctx, st, nil); err != nil {
			ss.sendError(canceledOr(ctx, err), st.offset)
			return false
		}
	}
}

// runPlan runs a query plan for the simple protocol: RowDescription, rows,
// CommandComplete, in an implicit transaction when it writes on several
// nodes. takeOver, if set, may claim an error raised before anything was
// sent (the caller then runs the statement another way): runPlan then
// returns fellBack and reports nothing.
func (ss *session) runPlan(ctx context.Context, p *planner.Plan, params executor.Params, offset int32, takeOver func(error) bool) (ok, fellBack bool) {
	implicit := p.MultiNodeWrite && ss.beginImplicit()
	fail := func(err error, early bool) (bool, bool) {
		err = canceledOr(ctx, err)
		if implicit {
			ss.endImplicit(ctx, false)
		}
		if early && takeOver != nil && takeOver(err) {
			return false, true
		}
		ss.sendError(err, offset)
		return false, false
	}
	ss.writing = p.Writes
	defer func() { ss.writing = false }()
	rt := ss.runtime(nil)
	rows, err := openEarly(ctx, p.Root, rt, params)
	if err != nil {
		return fail(err, true)
	}
	if p.Columns != nil {
		ss.w.send(rowDescription(p.Columns, rt.ResultFormat))
	}
	tag, err := ss.stream(rows, 0)
	if err != nil {
		return fail(err, false)
	}
	if implicit {
		if err := ss.endImplicit(ctx, true); err != nil {
			ss.sendError(err, offset)
			return false, false
		}
	}
	ss.complete(tag)
	return true, false
}

// stream sends up to max rows (0: all) and closes the rows when they end.
// It returns the command tag, or "" when max rows were sent and more
// remain.
func (ss *session) stream(rows executor.Rows, max uint32) (string, error) {
	var n uint32
	for {
		if max > 0 && n == max {
			return "", nil
		}
		if !rows.Next() {
			break
		}
		ss.w.dataRow(rows.Values())
		n++
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return "", err
	}
	return rows.Close()
}

// canceledOr reports a cancelled statement as such.
func canceledOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return cancelErr()
	}
	return err
}

// fastPath runs a simple-protocol statement through the plan of its
// normalized form (constants as parameters), planning that form on first
// use. It returns false when the statement must take the ordinary path.
func (ss *session) fastPath(ctx context.Context, query string) bool {
	if ss.failed || ss.settings.current["standard_conforming_strings"] == "off" || mentionsAdminFunction(query) {
		return false
	}
	n, ok := normalize(query)
	if !ok {
		return false
	}
	version := ss.srv.cfg.Catalog.Snapshot().SchemaVersion()
	key := n.key
	if dd := ss.settings.local[SettingDefaultDistribution]; dd != "" {
		key = dd + "\x00" + key
	}
	p, found := ss.plans.lookup(key, version)
	if !found {
		p = ss.planNormalized(ctx, n)
		ss.plans.putVersion(key, p, version)
	}
	if p == nil {
		return false
	}
	if waited, err := ss.awaitPlanWrites(ctx, p); waited || err != nil {
		// Plan again against the placement the move left (the ordinary
		// path reports an error).
		return err == nil && ss.fastPath(ctx, query)
	}
	ctx, done := ss.statementContext(ctx)
	defer done()
	// A shard moved away under the plan: the ordinary path plans again.
	takeOver := func(err error) bool { return parameterError(err) || ss.retryAfterMove(ctx, err, p) }
	_, fellBack := ss.runPlan(ctx, p, executor.Params{Values: n.values, OIDs: p.ParamOIDs}, 0, takeOver)
	return !fellBack
}

// parameterError: a constant of this statement does not convert to the
// type its normalized form gave it (PostgreSQL names the parameter in the
// error context). Nothing ran; the ordinary path reports the error as
// PostgreSQL does for the literal, with its position.
func parameterError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.Contains(pe.Where, "portal parameter $")
}

// planNormalized plans a normalized statement, or returns nil when only
// the original text can be planned (its errors are then reported by the
// ordinary path).
func (ss *session) planNormalized(ctx context.Context, n normalized) *planner.Plan {
	stmts, err := parseQuery(n.text)
	if err != nil || len(stmts) != 1 {
		return nil
	}
	switch stmts[0].node.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
	default:
		return nil
	}
	if ss.needsSequences(&stmts[0]) {
		// Its sequence values are drawn when it is planned, for this run
		// only: no normalized plan to share.
		return nil
	}
	ctx, done := ss.statementContext(ctx)
	defer done()
	p, err := ss.plan(ctx, &stmts[0], n.oids)
	if err != nil || p.Kind != planner.KindQuery || p.OneShot || len(p.ParamOIDs) != len(n.values) {
		return nil
	}
	return p
}
