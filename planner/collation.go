package planner

import (
	"context"
	"strings"

	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// requireCOrder fails with 0A000 unless the statement's text sorts as in
// the C collation: rows shipped as typed VALUES carry the default
// collation (C on the nodes), not their columns' own.
func requireCOrder(ctx context.Context, env *Env, stmt *pg_query.Node) error {
	ok, err := textSortsAsC(ctx, env, stmt)
	if err != nil {
		return err
	}
	if !ok {
		return pgerr.Unsupported("Use text of the C collation, or fix the distribution column to one value.",
			"shipping rows of text of a collation other than C between nodes is not supported yet")
	}
	return nil
}

// textSortsAsC says whether the text a statement reads sorts as in the C
// collation (byte order, the coordinator's): no COLLATE clause names
// another collation, no column of its tables has one, and the database's
// default collation is C.
func textSortsAsC(ctx context.Context, env *Env, stmt *pg_query.Node) (bool, error) {
	if ok, known := env.sortsAsC[stmt]; known {
		return ok, nil
	}
	explicit := false
	WalkNodes(stmt, func(n *pg_query.Node) {
		if cc := n.GetCollateClause(); cc != nil && !isCCollation(cc) {
			explicit = true
		}
	})
	if explicit {
		return false, nil
	}
	var tables []string
	seen := map[string]bool{}
	for _, rv := range rangeVars(stmt) {
		t := lookupTable(env, rv)
		if t == nil || seen[t.QualifiedName()] {
			continue
		}
		seen[t.QualifiedName()] = true
		tables = append(tables, sqlquote.Literal(qualifiedTable(t))+"::regclass")
	}
	defaultIsC := "(SELECT datlocprovider = 'c' AND datcollate IN ('C', 'POSIX') FROM pg_catalog.pg_database WHERE datname = current_database())"
	sql := "SELECT " + defaultIsC
	if len(tables) > 0 {
		// 100 is the database's default collation, 950 C, 951 POSIX.
		sql += " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid IN (" + strings.Join(tables, ", ") +
			") AND attnum > 0 AND NOT attisdropped AND attcollation NOT IN (0, 100, 950, 951))"
	}
	v, ok, err := env.Shell.QueryValue(ctx, sql)
	if err != nil {
		return false, err
	}
	if env.sortsAsC != nil {
		env.sortsAsC[stmt] = ok && v == "t"
	}
	return ok && v == "t", nil
}
