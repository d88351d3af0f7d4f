package coordinator

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Admin actions change the cluster (nodes, shard placements). They are
// called as a statement of their own, SELECT distgres_node_add(...), and
// run when the statement executes (not when it is parsed or described),
// once, outside transaction blocks. Their arguments are constants.

// adminAction is one action function.
type adminAction struct {
	minArgs, maxArgs int
	run              func(ctx context.Context, ss *session, args []string) (string, error)
}

var adminActions = map[string]adminAction{
	"distgres_node_add":      {3, 3, actionNodeAdd},
	"distgres_node_drain":    {1, 3, actionNodeDrain},
	"distgres_node_remove":   {1, 1, actionNodeRemove},
	"distgres_node_activate": {1, 1, actionNodeActivate},
	"distgres_move_shard":    {2, 2, actionMoveShard},
	"distgres_rebalance":     {0, 2, actionRebalance},
}

// planAdminAction plans a call of an action function. ok is false for
// statements that call none.
func (ss *session) planAdminAction(node *pg_query.Node) (*planner.Plan, bool, error) {
	var calls []*pg_query.FuncCall
	planner.WalkNodes(node, func(n *pg_query.Node) {
		if fc := n.GetFuncCall(); fc != nil {
			if _, ok := adminActions[callName(fc)]; ok {
				calls = append(calls, fc)
			}
		}
	})
	if len(calls) == 0 {
		return nil, false, nil
	}
	name := callName(calls[0])
	sel := node.GetSelectStmt()
	if len(calls) > 1 || sel == nil || len(sel.TargetList) != 1 || len(sel.FromClause) > 0 || sel.WhereClause != nil ||
		sel.TargetList[0].GetResTarget().GetVal().GetFuncCall() != calls[0] {
		return nil, true, pgerr.Unsupported(fmt.Sprintf("Call it on its own: SELECT %s(...).", name), "%s must be called on its own", name)
	}
	action := adminActions[name]
	args, err := constantArgs(name, calls[0])
	if err != nil {
		return nil, true, err
	}
	if len(args) < action.minArgs || len(args) > action.maxArgs {
		return nil, true, pgerr.New("42883", "function %s takes %d to %d arguments, not %d", name, action.minArgs, action.maxArgs, len(args))
	}
	col := name
	if alias := sel.TargetList[0].GetResTarget().GetName(); alias != "" {
		col = alias
	}
	op := &adminCall{name: name, col: col, run: func(ctx context.Context) (string, error) {
		if ss.tx != nil && !ss.tx.implicit {
			return "", pgerr.New(pgerr.ActiveSQLTransaction, "%s cannot run inside a transaction block", name)
		}
		if ss.srv.cfg.Mover == nil {
			return "", pgerr.Unsupported("", "this coordinator does not manage data nodes")
		}
		out, err := action.run(ctx, ss, args)
		return out, catalogError(err)
	}}
	return &planner.Plan{Kind: planner.KindQuery, Root: op, Columns: op.Columns(), OneShot: true}, true, nil
}

// callName is the function name of a call, unqualified or in pg_catalog.
func callName(fc *pg_query.FuncCall) string {
	names := fc.Funcname
	if len(names) == 2 && names[0].GetString_().GetSval() == "pg_catalog" {
		names = names[1:]
	}
	if len(names) != 1 {
		return ""
	}
	return names[0].GetString_().GetSval()
}

// constantArgs returns the text of a call's constant arguments.
func constantArgs(name string, fc *pg_query.FuncCall) ([]string, error) {
	out := make([]string, 0, len(fc.Args))
	for _, a := range fc.Args {
		if tc := a.GetTypeCast(); tc != nil {
			a = tc.Arg
		}
		c := a.GetAConst()
		if c == nil || c.Isnull {
			return nil, pgerr.Unsupported("Pass constants.", "the arguments of %s must be constants", name)
		}
		switch v := c.Val.(type) {
		case *pg_query.A_Const_Sval:
			out = append(out, v.Sval.Sval)
		case *pg_query.A_Const_Ival:
			out = append(out, strconv.Itoa(int(v.Ival.Ival)))
		case *pg_query.A_Const_Fval:
			out = append(out, v.Fval.Fval)
		default:
			return nil, pgerr.Unsupported("Pass text or integer constants.", "unsupported argument of %s", name)
		}
	}
	return out, nil
}

func intArg(name, value string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return 0, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type bigint: %q (%s)", value, name)
	}
	return n, nil
}

// adminCall runs an action when opened and returns its message.
type adminCall struct {
	name, col string
	run       func(ctx context.Context) (string, error)
}

func (a *adminCall) Open(ctx context.Context, rt *executor.Runtime, params executor.Params) (executor.Rows, error) {
	out, err := a.run(ctx)
	if err != nil {
		return nil, err
	}
	return (&executor.Values{Cols: a.Columns(), Rows: [][][]byte{{[]byte(out)}}}).Open(ctx, rt, params)
}

func (a *adminCall) Columns() []executor.Column {
	return []executor.Column{{Name: a.col, TypeOID: 25, TypeSize: -1, TypeModifier: -1}}
}

func (a *adminCall) Explain() executor.Description {
	return executor.Description{Operator: "Admin Call", Detail: []string{a.name}}
}
