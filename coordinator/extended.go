package coordinator

import (
	"context"
	"fmt"
	"slices"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	"github.com/jackc/pgproto3/v2"
)

// prepared is a statement created by Parse.
type prepared struct {
	st        *parsedStatement // nil for an empty query
	paramOIDs []uint32         // as declared by the client
	plan      *planner.Plan    // nil for statements the session runs itself
}

// portal is a bound statement, possibly partly executed.
type portal struct {
	stmt          *prepared
	plan          *planner.Plan
	params        executor.Params
	resultFormats []int16
	rows          executor.Rows
	ctx           context.Context
	cancel        context.CancelFunc
	done          bool
	// implicit: the portal opened an implicit transaction for a write on
	// several nodes.
	implicit bool
}

func (p *portal) close() {
	if p.rows != nil {
		p.rows.Close()
		p.rows = nil
	}
	if p.cancel != nil {
		p.cancel()
	}
}

func (ss *session) parse(ctx context.Context, m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := ss.stmts[m.Name]; ok {
			return pgerr.New(pgerr.DuplicatePreparedStatement, "prepared statement %q already exists", m.Name)
		}
	}
	stmts, err := ss.parseCached(m.Query)
	if err != nil {
		return err
	}
	if len(stmts) > 1 {
		return pgerr.New(pgerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	ps := &prepared{paramOIDs: append([]uint32(nil), m.ParameterOIDs...)}
	if len(stmts) == 1 {
		ps.st = &stmts[0]
		if ss.failed && !allowedInFailedTx(ps.st.node) {
			return inFailedTx()
		}
		if err := ss.planPrepared(ctx, ps); err != nil {
			return err
		}
	}
	ss.stmts[m.Name] = ps
	ss.w.send(&pgproto3.ParseComplete{})
	return nil
}

// planPrepared plans a prepared statement (unless the session runs it
// itself).
func (ss *session) planPrepared(ctx context.Context, ps *prepared) error {
	// COPY is planned when executed, where PostgreSQL reports its errors.
	if isSessionStatement(ps.st) || ps.st.node.GetCopyStmt() != nil {
		return nil
	}
	if p, ok := ss.showStmt(ps.st); ok {
		ps.plan = p
		return nil
	}
	ctx, done := ss.statementContext(ctx)
	defer done()
	p, err := ss.plan(ctx, ps.st, ps.paramOIDs)
	if err != nil {
		return canceledOr(ctx, err)
	}
	ps.plan = p
	return nil
}

func isSessionStatement(st *parsedStatement) bool {
	n := st.node
	return n.GetTransactionStmt() != nil || n.GetVariableSetStmt() != nil || n.GetDiscardStmt() != nil ||
		n.GetDeallocateStmt() != nil || n.GetPrepareStmt() != nil || n.GetExecuteStmt() != nil ||
		n.GetDeclareCursorStmt() != nil || n.GetFetchStmt() != nil || n.GetClosePortalStmt() != nil ||
		n.GetListenStmt() != nil || n.GetNotifyStmt() != nil || n.GetUnlistenStmt() != nil || n.GetLockStmt() != nil
}

func (ss *session) bind(ctx context.Context, m *pgproto3.Bind) error {
	ps, ok := ss.stmts[m.PreparedStatement]
	if !ok {
		return pgerr.New(pgerr.InvalidSQLStatementName, "prepared statement %q does not exist", m.PreparedStatement)
	}
	if m.DestinationPortal != "" {
		if _, ok := ss.portals[m.DestinationPortal]; ok {
			return pgerr.New(pgerr.DuplicateCursor, "portal %q already exists", m.DestinationPortal)
		}
	} else if old, ok := ss.portals[""]; ok {
		old.close()
		delete(ss.portals, "")
	}
	if ps.st != nil && ss.failed && !allowedInFailedTx(ps.st.node) {
		return inFailedTx()
	}
	if _, err := ss.awaitPlanWrites(ctx, ps.plan); err != nil {
		return err
	}
	if ps.plan != nil && ps.plan.Kind == planner.KindQuery && (ps.plan.OneShot || ps.plan.CatalogVersion != ss.srv.cfg.Catalog.Snapshot().SchemaVersion()) {
		if err := ss.planPrepared(ctx, ps); err != nil {
			return err
		}
	}
	var oids []uint32
	if ps.plan != nil {
		oids = ps.plan.ParamOIDs
	}
	if ps.st != nil && ps.plan != nil && len(m.Parameters) != len(oids) {
		return pgerr.New(pgerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(oids))
	}
	if n := len(m.ParameterFormatCodes); n > 1 && n != len(m.Parameters) {
		return pgerr.New(pgerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters", n, len(m.Parameters))
	}
	for _, f := range append(append([]int16(nil), m.ParameterFormatCodes...), m.ResultFormatCodes...) {
		if f != 0 && f != 1 {
			return pgerr.New(pgerr.ProtocolViolation, "unsupported format code: %d", f)
		}
	}
	values := make([][]byte, len(m.Parameters))
	for i, v := range m.Parameters {
		if v != nil {
			values[i] = append(make([]byte, 0, len(v)), v...)
		}
	}
	p := &portal{
		stmt: ps, plan: ps.plan,
		params:        executor.Params{Values: values, Formats: append([]int16(nil), m.ParameterFormatCodes...), OIDs: oids},
		resultFormats: append([]int16(nil), m.ResultFormatCodes...),
	}
	if p.plan != nil && p.plan.Columns != nil && len(p.resultFormats) > 1 && len(p.resultFormats) != len(p.plan.Columns) {
		return pgerr.New(pgerr.ProtocolViolation, "bind message has %d result formats but query has %d columns", len(p.resultFormats), len(p.plan.Columns))
	}
	ss.portals[m.DestinationPortal] = p
	ss.w.send(&pgproto3.BindComplete{})
	return nil
}

func (ss *session) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		ps, ok := ss.stmts[m.Name]
		if !ok {
			return pgerr.New(pgerr.InvalidSQLStatementName, "prepared statement %q does not exist", m.Name)
		}
		var oids []uint32
		if ps.plan != nil {
			oids = ps.plan.ParamOIDs
		}
		ss.w.send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		if ps.plan != nil && ps.plan.Columns != nil {
			ss.w.send(rowDescription(ps.plan.Columns, func(int) int16 { return 0 }))
		} else {
			ss.w.send(&pgproto3.NoData{})
		}
	case 'P':
		p, ok := ss.portals[m.Name]
		if !ok {
			return pgerr.New(pgerr.InvalidCursorName, "portal %q does not exist", m.Name)
		}
		if p.plan != nil && p.plan.Columns != nil {
			rt := ss.runtime(p.resultFormats)
			ss.w.send(rowDescription(p.plan.Columns, rt.ResultFormat))
		} else {
			ss.w.send(&pgproto3.NoData{})
		}
	default:
		return pgerr.New(pgerr.ProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

func (ss *session) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := ss.portals[m.Portal]
	if !ok {
		return pgerr.New(pgerr.InvalidCursorName, "portal %q does not exist", m.Portal)
	}
	if p.stmt.st == nil {
		ss.w.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if p.stmt.st.node.GetCopyStmt() != nil {
		return ss.executeCopy(ctx, m.Portal, p)
	}
	if p.done {
		ss.complete("SELECT 0")
		return nil
	}
	if ss.failed && !allowedInFailedTx(p.stmt.st.node) {
		return inFailedTx()
	}
	if p.rows == nil {
		if p.plan == nil || p.plan.Kind == planner.KindDDL {
			tag, err := ss.executeOnce(ctx, p)
			if err != nil {
				return err
			}
			p.done = true
			ss.complete(tag)
			return nil
		}
		pctx, cancel := context.WithCancel(ctx)
		p.ctx, p.cancel = pctx, cancel
	}
	// A CancelRequest cancels the portal's work while it runs.
	ss.mu.Lock()
	ss.cancel = p.cancel
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		ss.cancel = nil
		ss.mu.Unlock()
	}()
	if p.rows == nil {
		p.implicit = p.plan.MultiNodeWrite && ss.beginImplicit()
		ss.writing = p.plan.Writes
		defer func() { ss.writing = false }()
		rows, err := openEarly(p.ctx, p.plan.Root, ss.runtime(p.resultFormats), p.params)
		if err != nil {
			err = canceledOr(p.ctx, err)
			if p.implicit {
				ss.endImplicit(ctx, false)
			}
			for attempt := 0; err != nil && attempt < maxMoveRetries && p.stmt.st != nil && ss.retryAfterMove(ctx, err, p.plan); attempt++ {
				np, perr := ss.plan(p.ctx, p.stmt.st, p.stmt.paramOIDs)
				if perr != nil || !slices.Equal(np.ParamOIDs, p.plan.ParamOIDs) {
					break
				}
				p.plan = np
				p.implicit = np.MultiNodeWrite && ss.beginImplicit()
				rows, err = openEarly(p.ctx, np.Root, ss.runtime(p.resultFormats), p.params)
				if err != nil && p.implicit {
					ss.endImplicit(ctx, false)
				}
			}
		}
		if err != nil {
			err = canceledOr(p.ctx, err)
			p.cancel()
			return err
		}
		p.rows = rows
	}
	tag, err := ss.stream(p.rows, m.MaxRows)
	if err != nil {
		err = canceledOr(p.ctx, err)
		p.rows = nil
		p.close()
		p.done = true
		if p.implicit {
			ss.endImplicit(ctx, false)
		}
		return err
	}
	if tag == "" {
		ss.w.send(&pgproto3.PortalSuspended{})
		return nil
	}
	p.rows = nil
	p.close()
	p.done = true
	if p.implicit {
		if err := ss.endImplicit(ctx, true); err != nil {
			return err
		}
	}
	ss.complete(tag)
	return nil
}

// executeOnce runs a session statement or DDL from a portal.
func (ss *session) executeOnce(ctx context.Context, p *portal) (string, error) {
	ctx, done := ss.statementContext(ctx)
	defer done()
	if p.plan == nil {
		tag, handled, err := ss.utility(ctx, p.stmt.st)
		if err != nil {
			return "", canceledOr(ctx, err)
		}
		if !handled {
			return "", fmt.Errorf("coordinator: statement has no plan")
		}
		return tag, nil
	}
	tag, err := ss.runDDL(ctx, p.plan.DDL)
	return tag, canceledOr(ctx, err)
}

func (ss *session) close(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(ss.stmts, m.Name)
	case 'P':
		if p, ok := ss.portals[m.Name]; ok {
			p.close()
			delete(ss.portals, m.Name)
		}
	default:
		return pgerr.New(pgerr.ProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	ss.w.send(&pgproto3.CloseComplete{})
	return nil
}

// sync ends an extended-protocol sequence: outside a transaction block the
// implicit transaction ends and its portals are closed.
func (ss *session) sync(ctx context.Context) {
	if ss.tx != nil && ss.tx.implicit {
		for name, p := range ss.portals {
			p.close()
			delete(ss.portals, name)
		}
		if err := ss.endImplicit(ctx, !ss.failed); err != nil {
			ss.sendError(err, 0)
		}
		return
	}
	if ss.tx != nil {
		return
	}
	for name, p := range ss.portals {
		p.close()
		delete(ss.portals, name)
	}
}
