package coordinator

import (
	"context"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// ClusterStatus reports the coordinator group (the Raft store does).
type ClusterStatus interface {
	Status() catalog.RaftStatus
}

// Admin functions are answered by the coordinator: a call is replaced by
// its value before planning, so any SQL around it (WHERE, ORDER BY, joins
// with the system catalogs) works as on PostgreSQL.
const (
	// distgres_cluster() is a set of rows, one per coordinator.
	fnCluster = "distgres_cluster"
	// distgres_recover_transactions() runs a recovery pass and returns
	// the number of prepared transactions it resolved.
	fnRecover = "distgres_recover_transactions"
)

var clusterColumns = []adminColumn{{"member", "text"}, {"raft_address", "text"}, {"client_address", "text"}, {"voter", "boolean"},
	{"is_leader", "boolean"}, {"is_self", "boolean"}, {"term", "bigint"}, {"commit_index", "bigint"}, {"applied_index", "bigint"}, {"catalog_version", "bigint"}}

// mentionsAdminFunction is a cheap test before the tree is walked.
func mentionsAdminFunction(sql string) bool {
	return containsFold(sql, "distgres_")
}

// containsFold reports whether word (lower case ASCII) appears in sql in
// any letter case, without allocating.
func containsFold(sql, word string) bool {
	for i := 0; i+len(word) <= len(sql); i++ {
		if sql[i]|0x20 == word[0] && strings.EqualFold(sql[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// rewriteAdminFunctions replaces admin function calls in the tree (in
// place) with their results and reports whether it found any.
func (ss *session) rewriteAdminFunctions(ctx context.Context, node *pg_query.Node) (bool, error) {
	changed := false
	var err error
	planner.WalkNodes(node, func(n *pg_query.Node) {
		if err != nil {
			return
		}
		switch x := n.Node.(type) {
		case *pg_query.Node_RangeFunction:
			if len(x.RangeFunction.Functions) != 1 {
				return
			}
			var sub *pg_query.Node
			if funcName(x.RangeFunction.Functions[0]) == fnCluster {
				sub, err = ss.clusterRows(x.RangeFunction.Alias)
			} else if sub, err = ss.adminRelation(ctx, x.RangeFunction); sub == nil {
				return
			}
			if err == nil {
				n.Node = sub.Node
				changed = true
			}
		case *pg_query.Node_FuncCall:
			if funcName(n) != fnRecover {
				return
			}
			if ss.srv.cfg.GTM == nil {
				err = pgerr.Unsupported("", "this coordinator has no transaction manager")
				return
			}
			rep, rerr := ss.srv.cfg.GTM.Recover(ctx)
			if rerr != nil {
				ss.notice("01000", "transaction recovery incomplete: "+rerr.Error())
			}
			n.Node = &pg_query.Node_AConst{AConst: &pg_query.A_Const{Val: &pg_query.A_Const_Ival{Ival: &pg_query.Integer{Ival: int32(rep.Committed + rep.RolledBack)}}}}
			changed = true
		}
	})
	return changed, err
}

// funcName returns the unqualified (or distgres-schema-free) name of a
// FuncCall node.
func funcName(n *pg_query.Node) string {
	if l := n.GetList(); l != nil && len(l.Items) > 0 {
		n = l.Items[0]
	}
	fc := n.GetFuncCall()
	if fc == nil || len(fc.Funcname) != 1 || len(fc.Args) != 0 {
		return ""
	}
	return fc.Funcname[0].GetString_().GetSval()
}

// clusterRows builds (VALUES ...) AS alias(columns) for distgres_cluster().
func (ss *session) clusterRows(alias *pg_query.Alias) (*pg_query.Node, error) {
	cs := ss.srv.cfg.Cluster
	if cs == nil {
		return nil, pgerr.Unsupported("", "this coordinator does not run in a coordinator group")
	}
	st := cs.Status()
	snap := ss.srv.cfg.Catalog.Snapshot()
	var rows [][]string
	for _, m := range st.Members {
		var client any
		if c, ok := snap.Coordinator(m.ID); ok && c.ClientAddr != "" {
			client = c.ClientAddr
		}
		rows = append(rows, []string{literal(m.ID), literal(m.Address), literal(client), literal(m.Voter), literal(m.ID == st.LeaderID),
			literal(m.ID == st.ID), literal(int64(st.Term)), literal(int64(st.CommitIndex)), literal(int64(st.AppliedIndex)), literal(int64(st.CatalogVersion))})
	}
	return relationFromRows(alias, fnCluster, clusterColumns, rows)
}

// adminRelation returns the rows of a set-returning admin function other
// than distgres_cluster(), or nil for other functions.
func (ss *session) adminRelation(ctx context.Context, rf *pg_query.RangeFunction) (*pg_query.Node, error) {
	var fc *pg_query.FuncCall
	if l := rf.Functions[0].GetList(); l != nil && len(l.Items) > 0 {
		fc = l.Items[0].GetFuncCall()
	}
	if fc == nil {
		return nil, nil
	}
	name := callName(fc)
	rowsOf, ok := adminRelations[name]
	if !ok {
		return nil, nil
	}
	args, err := constantArgs(name, fc)
	if err != nil {
		return nil, err
	}
	cols, rows, err := rowsOf(ctx, ss, args)
	if err != nil {
		return nil, err
	}
	return relationFromRows(rf.Alias, name, cols, rows)
}
