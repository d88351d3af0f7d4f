package coordinator

import (
	"context"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Calls of nextval, currval, setval and lastval on global sequences are
// answered by the coordinator. A call is evaluated once per statement, so
// it is allowed only where PostgreSQL evaluates it once per row written or
// returned and the rows are spelled out: in VALUES lists and in a SELECT
// without FROM. Elsewhere (SELECT nextval(...) FROM t, UPDATE ... SET x =
// nextval(...)) it is refused rather than answered wrongly.

var sequenceFunctions = map[string]bool{"nextval": true, "currval": true, "setval": true, "lastval": true}

// replaceSequenceCalls replaces calls on global sequences in place.
func (ss *session) replaceSequenceCalls(ctx context.Context, node *pg_query.Node) (bool, error) {
	allowed := map[*pg_query.FuncCall]bool{}
	mark := func(nodes []*pg_query.Node) {
		for _, n := range nodes {
			planner.WalkNodes(n, func(x *pg_query.Node) {
				if fc := x.GetFuncCall(); fc != nil {
					allowed[fc] = true
				}
			})
		}
	}
	if ins := node.GetInsertStmt(); ins != nil {
		mark(ins.SelectStmt.GetSelectStmt().GetValuesLists())
	}
	if sel := node.GetSelectStmt(); sel != nil && len(sel.FromClause) == 0 && sel.Op == pg_query.SetOperation_SETOP_NONE {
		mark(sel.TargetList)
		mark(sel.ValuesLists)
		// The column keeps the function's name, as in PostgreSQL.
		for _, t := range sel.TargetList {
			rt := t.GetResTarget()
			if fc := rt.GetVal().GetFuncCall(); fc != nil && rt.Name == "" && sequenceFunctionName(fc) != "" {
				rt.Name = sequenceFunctionName(fc)
			}
		}
	}
	snap := ss.srv.cfg.Catalog.Snapshot()
	changed := false
	var err error
	planner.WalkNodes(node, func(n *pg_query.Node) {
		fc := n.GetFuncCall()
		if err != nil || fc == nil {
			return
		}
		fn := sequenceFunctionName(fc)
		if fn == "" {
			return
		}
		var q catalog.Sequence
		if fn != "lastval" {
			schema, name, ok := sequenceArg(fc)
			if !ok {
				// Which sequence is only known when it runs: it may be
				// a global one, whose values only the coordinator has.
				err = pgerr.Unsupported("Name the sequence with a string constant.", "%s() with a sequence name that is not a constant is not supported", fn)
				return
			}
			if q, ok = snap.Sequence(schema, name); !ok {
				return // not a global sequence: the data node's own
			}
		} else if !ss.seqs.any {
			return
		}
		if !allowed[fc] {
			err = pgerr.Unsupported("Call it in a VALUES list or in a SELECT without FROM, one value per call.",
				"%s() of global sequence %q here would be evaluated once for all rows", fn, q.Name)
			return
		}
		var v int64
		if v, err = ss.sequenceCall(ctx, fn, q, fc); err == nil {
			n.Node = bigintConst(v).Node
			changed = true
		}
	})
	return changed, err
}

func sequenceFunctionName(fc *pg_query.FuncCall) string {
	parts := fc.Funcname
	if len(parts) == 2 && parts[0].GetString_().GetSval() == "pg_catalog" {
		parts = parts[1:]
	}
	if len(parts) != 1 {
		return ""
	}
	name := parts[0].GetString_().GetSval()
	if !sequenceFunctions[name] {
		return ""
	}
	return name
}

// sequenceArg reads a sequence name given as a string constant (or one
// cast to regclass), as PostgreSQL reads a regclass literal.
func sequenceArg(fc *pg_query.FuncCall) (schema, name string, ok bool) {
	if len(fc.Args) == 0 {
		return "", "", false
	}
	a := fc.Args[0]
	if tc := a.GetTypeCast(); tc != nil {
		a = tc.Arg
	}
	c := a.GetAConst()
	if c == nil || c.GetSval() == nil {
		return "", "", false
	}
	parts := splitQualified(c.GetSval().Sval)
	switch len(parts) {
	case 1:
		return "public", parts[0], true
	case 2:
		return parts[0], parts[1], true
	}
	return "", "", false
}

// splitQualified splits a possibly quoted, dotted name, folding unquoted
// parts to lower case.
func splitQualified(s string) []string {
	var parts []string
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() {
		p := cur.String()
		if !wasQuoted {
			p = strings.ToLower(strings.TrimSpace(p))
		}
		parts = append(parts, p)
		cur.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			quoted = !quoted
			wasQuoted = true
		case ch == '.' && !quoted:
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return parts
}

// sequenceCall evaluates one call.
func (ss *session) sequenceCall(ctx context.Context, fn string, q catalog.Sequence, fc *pg_query.FuncCall) (int64, error) {
	switch fn {
	case "nextval":
		vals, err := ss.nextValues(ctx, q.Schema, q.Name, 1)
		if err != nil {
			return 0, err
		}
		return vals[0], nil
	case "currval":
		v, ok := ss.seqs.last[[2]string{q.Schema, q.Name}]
		if !ok {
			return 0, pgerr.New("55000", "currval of sequence %q is not yet defined in this session", q.Name)
		}
		return v, nil
	case "lastval":
		return ss.seqs.lastval, nil
	}
	// setval(name, value [, is_called])
	if len(fc.Args) < 2 || len(fc.Args) > 3 {
		return 0, pgerr.Unsupported("", "setval() needs a constant value")
	}
	v, ok := constInt(fc.Args[1])
	if !ok {
		return 0, pgerr.Unsupported("Give setval() a constant.", "setval() of a global sequence needs a constant value")
	}
	called := true
	if len(fc.Args) == 3 {
		b := fc.Args[2].GetAConst().GetBoolval()
		if b == nil {
			return 0, pgerr.Unsupported("Give setval() a constant.", "setval() of a global sequence needs a constant is_called")
		}
		called = b.Boolval
	}
	if v < q.Min || v > q.Max {
		return 0, pgerr.New("22003", "setval: value %d is out of bounds for sequence %q (%d..%d)", v, q.Name, q.Min, q.Max)
	}
	next := v
	if called {
		next = v + q.Increment
	}
	if _, err := ss.srv.cfg.Catalog.Apply(ctx, catalog.SetSequence{Schema: q.Schema, Name: q.Name, Next: next}); err != nil {
		return 0, sequenceError(err)
	}
	ss.srv.cfg.GTM.ForgetRange(q.Schema, q.Name)
	if called {
		ss.seqs.drew(q.Schema, q.Name, v)
	}
	return v, nil
}

func constInt(n *pg_query.Node) (int64, bool) {
	neg := false
	if e := n.GetAExpr(); e != nil && e.Lexpr == nil && len(e.Name) == 1 && e.Name[0].GetString_().GetSval() == "-" {
		neg, n = true, e.Rexpr
	}
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	c := n.GetAConst()
	if c == nil {
		return 0, false
	}
	var v int64
	switch {
	case c.GetIval() != nil:
		v = int64(c.GetIval().Ival)
	case c.GetFval() != nil:
		x, err := strconv.ParseInt(c.GetFval().Fval, 10, 64)
		if err != nil {
			return 0, false
		}
		v = x
	default:
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
