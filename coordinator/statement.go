package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	"github.com/jackc/pgproto3/v2"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
)

// parsedStatement is one statement of a query string.
type parsedStatement struct {
	sql  string
	node *pg_query.Node
	dist *planner.Distribute
	// offset is the statement's position in the query string (characters).
	offset int32
}

// parseCacheBytes bounds the query text a session keeps parsed: a tree
// takes tens of times its text's size, so a session holds a few MB of
// trees at most, and the short statements that repeat fit by the hundred.
const parseCacheBytes = 64 << 10

// parseCached returns parseQuery's statements of query, from the session's
// recent query strings when it has them: drivers send the same texts again
// and again (unnamed extended-protocol statements, BEGIN, COMMIT), and
// parsing through pg_query costs more than planning from the plan cache.
// The statements are shared: nothing may change them.
func (ss *session) parseCached(query string) ([]parsedStatement, error) {
	if stmts, ok := ss.parses.get(query); ok {
		return stmts, nil
	}
	stmts, err := parseQuery(query)
	if err == nil {
		ss.parses.putCost(query, stmts, len(query))
	}
	return stmts, err
}

// parseQuery cuts DISTRIBUTE BY clauses and splits a query string into
// statements.
func parseQuery(query string) ([]parsedStatement, error) {
	text, clauses, err := planner.CutDistribute(query)
	if err != nil {
		return nil, err
	}
	tree, err := pg_query.Parse(text)
	if err != nil {
		return nil, syntaxError(query, err)
	}
	out := make([]parsedStatement, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		start := int(raw.StmtLocation)
		end := len(text)
		if raw.StmtLen > 0 {
			end = start + int(raw.StmtLen)
		}
		st := parsedStatement{sql: text[start:end], node: raw.Stmt}
		if start > 0 {
			// Positions in the tree count from the start of the whole
			// string; the planner works on the statement's own text.
			one, err := pg_query.Parse(st.sql)
			if err != nil || len(one.Stmts) != 1 {
				return nil, syntaxError(query, fmt.Errorf("cannot split statement %d", len(out)+1))
			}
			st.node = one.Stmts[0].Stmt
			st.offset = int32(len([]rune(text[:start])))
		}
		for i := range clauses {
			if clauses[i].Pos >= start && clauses[i].Pos < end {
				d := clauses[i]
				d.Pos -= start
				st.dist = &d
			}
		}
		if st.dist != nil && st.node.GetCreateStmt() == nil {
			return nil, &pgerr.Error{Code: pgerr.SyntaxError, Message: "syntax error at or near \"DISTRIBUTE\"", Position: int32(len([]rune(text[:start+st.dist.Pos]))) + 1}
		}
		out = append(out, st)
	}
	return out, nil
}

// syntaxError turns a pg_query parse error into PostgreSQL's 42601 error.
func syntaxError(query string, err error) error {
	msg, pos := err.Error(), int32(0)
	var pe *parser.Error
	if errors.As(err, &pe) {
		msg, pos = pe.Message, int32(pe.Cursorpos)
	}
	return &pgerr.Error{Code: pgerr.SyntaxError, Message: msg, Position: pos}
}

// plan plans a statement, using the session's plan cache.
func (ss *session) plan(ctx context.Context, st *parsedStatement, paramOIDs []uint32) (*planner.Plan, error) {
	if p, ok, err := ss.planRewritten(ctx, st, paramOIDs); ok || err != nil {
		return p, err
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	key := st.sql
	if len(paramOIDs) > 0 {
		key = fmt.Sprint(paramOIDs) + key
	}
	if dd := ss.settings.local[SettingDefaultDistribution]; dd != "" {
		key = dd + "\x00" + key
	}
	p := ss.plans.get(key, snap.SchemaVersion())
	if p == nil {
		var err error
		if p, err = ss.planUncached(ctx, st, paramOIDs); err != nil {
			return nil, err
		}
		if p.Kind == planner.KindQuery {
			ss.plans.put(key, p)
		}
	}
	if waited, err := ss.awaitPlanWrites(ctx, p); waited || err != nil {
		if err != nil {
			return nil, err
		}
		return ss.plan(ctx, st, paramOIDs)
	}
	return p, nil
}

// planUncached plans a statement against the current catalog.
func (ss *session) planUncached(ctx context.Context, st *parsedStatement, paramOIDs []uint32) (*planner.Plan, error) {
	snap := ss.srv.cfg.Catalog.Snapshot()
	env := &planner.Env{
		Catalog: snap, Shell: shell{ss},
		ShellDB: ss.srv.cfg.ShellDB, ShardDB: ss.srv.cfg.ShardDB,
		DefaultShardCount:   ss.srv.cfg.DefaultShardCount,
		DefaultDistribution: ss.settings.local[SettingDefaultDistribution],
	}
	return planner.Build(ctx, env, &planner.Statement{SQL: st.sql, Node: st.node, ParamOIDs: paramOIDs, Distribute: st.dist})
}

// utility handles statements the session answers itself. handled is false
// for statements to plan.
func (ss *session) utility(ctx context.Context, st *parsedStatement) (tag string, handled bool, err error) {
	switch n := st.node.Node.(type) {
	case *pg_query.Node_TransactionStmt:
		tag, err = ss.transactionStmt(ctx, st.sql, n.TransactionStmt)
		return tag, true, err
	case *pg_query.Node_VariableSetStmt:
		tag, err = ss.variableSet(ctx, st.sql, n.VariableSetStmt)
		return tag, true, err
	case *pg_query.Node_DiscardStmt:
		if ss.tx != nil {
			return "", true, pgerr.New(pgerr.ActiveSQLTransaction, "DISCARD ALL cannot run inside a transaction block")
		}
		ss.settings.reset()
		ss.plans.clear()
		for name, p := range ss.portals {
			p.close()
			delete(ss.portals, name)
		}
		ss.stmts = map[string]*prepared{}
		return "DISCARD ALL", true, nil
	case *pg_query.Node_DeallocateStmt:
		if n.DeallocateStmt.Name == "" {
			ss.stmts = map[string]*prepared{}
		} else if _, ok := ss.stmts[n.DeallocateStmt.Name]; !ok {
			return "", true, pgerr.New(pgerr.InvalidSQLStatementName, "prepared statement %q does not exist", n.DeallocateStmt.Name)
		} else {
			delete(ss.stmts, n.DeallocateStmt.Name)
		}
		return "DEALLOCATE", true, nil
	case *pg_query.Node_PrepareStmt, *pg_query.Node_ExecuteStmt, *pg_query.Node_DeclareCursorStmt,
		*pg_query.Node_FetchStmt, *pg_query.Node_ClosePortalStmt, *pg_query.Node_ListenStmt,
		*pg_query.Node_NotifyStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_LockStmt:
		return "", true, pgerr.Unsupported("Use the extended query protocol of your driver instead.", "%s is not supported yet", strings.TrimPrefix(fmt.Sprintf("%T", n), "*pg_query.Node_"))
	}
	return "", false, nil
}

// isShow reports a SHOW of a distgres setting and answers it.
func (ss *session) showStmt(st *parsedStatement) (*planner.Plan, bool) {
	vs := st.node.GetVariableShowStmt()
	if vs == nil {
		return nil, false
	}
	v, ok := ss.showLocal(vs.Name)
	if !ok {
		return nil, false
	}
	cols := []executor.Column{{Name: strings.ToLower(vs.Name), TypeOID: 25, TypeSize: -1, TypeModifier: -1}}
	return &planner.Plan{Kind: planner.KindQuery, Columns: cols,
		Root: &executor.Convert{Input: &executor.Values{Cols: cols, Rows: [][][]byte{{[]byte(v)}}, Tag: "SHOW"}}}, true
}

// allowedInFailedTx: statements that may run in a failed block.
func allowedInFailedTx(n *pg_query.Node) bool {
	ts := n.GetTransactionStmt()
	if ts == nil {
		return false
	}
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO,
		pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		return true
	}
	return false
}

// notice sends a NoticeResponse.
func (ss *session) notice(code, msg string) {
	ss.w.send(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: code, Message: msg})
}

// tagRows extracts the row count of a command tag.
func tagRows(tag string) int64 {
	i := strings.LastIndexByte(tag, ' ')
	if i < 0 {
		return 0
	}
	n, _ := strconv.ParseInt(tag[i+1:], 10, 64)
	return n
}

func cancelErr() error { return pgerr.Canceled() }
