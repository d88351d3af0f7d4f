package coordinator

import (
	"context"

	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Some statements need values only the coordinator has before they can be
// planned: admin functions (distgres_cluster()), global sequences
// (nextval, currval, setval, lastval, and serial or identity columns an
// INSERT leaves out). The coordinator puts the values into a copy of the
// statement's tree and plans that; such a plan is used once.

// planRewritten plans st with coordinator values filled in, if it needs
// any; ok is false for a statement to plan as it is.
func (ss *session) planRewritten(ctx context.Context, st *parsedStatement, paramOIDs []uint32) (*planner.Plan, bool, error) {
	admin := mentionsAdminFunction(st.sql)
	seqs := ss.needsSequences(st)
	if !admin && !seqs {
		return nil, false, nil
	}
	if admin {
		if p, ok, err := ss.planAdminAction(st.node); ok {
			return p, true, err
		}
	}
	node := proto.Clone(st.node).(*pg_query.Node)
	changed := false
	if seqs {
		c, err := ss.rewriteSequences(ctx, node)
		if err != nil {
			return nil, true, err
		}
		changed = c
	}
	if admin {
		c, err := ss.rewriteAdminFunctions(ctx, node)
		if err != nil {
			return nil, true, err
		}
		changed = changed || c
	}
	if !changed {
		return nil, false, nil
	}
	sql, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: node}}})
	if err != nil {
		return nil, true, err
	}
	p, err := ss.planUncached(ctx, &parsedStatement{sql: sql, node: node, dist: st.dist, offset: st.offset}, paramOIDs)
	if p != nil {
		p.OneShot = true
	}
	return p, true, err
}
