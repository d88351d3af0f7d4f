// Package planner turns a parsed statement and a catalog snapshot into a
// plan: a tree of executor operators saying which shards run which SQL and
// how their results merge, or a DDL plan for the coordinator to apply.
//
// The planner does not talk to data nodes itself. What it must learn from
// PostgreSQL (result and parameter types, column lists) it asks through the
// Shell interface, which the coordinator backs with a "shell" database: on
// every data node a database holding the logical tables (empty), so that
// PostgreSQL itself checks and describes statements and answers catalog
// queries (\d, information_schema) with logical tables only.
package planner

import (
	"context"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Description is what PostgreSQL says about a statement.
type Description struct {
	ParamOIDs []uint32
	Columns   []executor.Column
}

// Shell answers questions about statements from the logical tables.
type Shell interface {
	// Describe prepares sql on a shell database and returns its parameter
	// and result types (errors are PostgreSQL's own).
	Describe(ctx context.Context, sql string, paramOIDs []uint32) (*Description, error)
	// QueryValue runs a query on a shell database and returns the first
	// column of the first row ("" and false for no row or NULL).
	QueryValue(ctx context.Context, sql string) (string, bool, error)
}

// Env is the context a statement is planned in.
type Env struct {
	Catalog *catalog.Snapshot
	Shell   Shell
	// ShellDB and ShardDB are the database names on the data nodes.
	ShellDB, ShardDB string
	// DefaultShardCount is used when CREATE TABLE does not say.
	DefaultShardCount int
	// DefaultDistribution overrides the Postgres-XL default rule for
	// CREATE TABLE without DISTRIBUTE BY ("" keeps the rule; "hash",
	// "replication", "roundrobin", "hash-first-column").
	DefaultDistribution string

	// shipped maps tables a broadcast plan ships to every node ("schema.name")
	// to the stand-in reference tables the tiers plan with.
	shipped map[string]*catalog.Table
	// sortsAsC remembers, per statement node, what textSortsAsC found:
	// the tiers, shipping and their fallbacks ask it of one statement
	// several times. Set by Build; copies of the Env share it.
	sortsAsC map[*pg_query.Node]bool
}

// Statement is one SQL statement to plan.
type Statement struct {
	// SQL is the statement's own text (DISTRIBUTE BY already cut out).
	SQL  string
	Node *pg_query.Node
	// ParamOIDs are the types the client declared (0 = unspecified).
	ParamOIDs []uint32
	// Distribute is the statement's DISTRIBUTE BY clause, if any.
	Distribute *Distribute
}

// Kind says how the coordinator runs a plan.
type Kind int

const (
	// KindQuery runs Root and returns its rows (if any) and tag.
	KindQuery Kind = iota
	// KindDDL applies DDL to the catalog and the data nodes.
	KindDDL
	// KindCopyIn and KindCopyOut are COPY FROM STDIN and COPY TO STDOUT,
	// which the coordinator runs with the client's COPY protocol.
	KindCopyIn
	KindCopyOut
)

// Plan is a planned statement.
type Plan struct {
	Kind Kind
	Root executor.Operator
	// ParamOIDs are the statement's parameter types.
	ParamOIDs []uint32
	// Columns describe the rows returned (nil: none).
	Columns []executor.Column
	// Tag, if set, replaces the command tag of Root.
	Tag string
	DDL *DDL
	// CopyIn and CopyOut are set for KindCopyIn and KindCopyOut.
	CopyIn  *CopyIn
	CopyOut *CopyOut
	// CatalogVersion is the schema version (Snapshot.SchemaVersion) of the
	// catalog the plan was made against.
	CatalogVersion uint64
	// OneShot marks a plan that embeds values computed when it was made
	// (admin functions answered by the coordinator): it is never reused.
	OneShot bool
	// MultiNodeWrite: the statement may write on several data nodes, so
	// outside a transaction block it runs in an implicit one (all nodes
	// commit, or all roll back when one fails).
	MultiNodeWrite bool
	// Writes: the statement writes (INSERT, UPDATE, DELETE); the data node
	// connections it uses in a transaction block are known writers, which
	// commit does not need to ask about.
	Writes bool
	// WriteColocation is the colocation group of the table the statement
	// writes (0: none); while a move of one of its shard groups cuts
	// over, the coordinator holds the statement back.
	WriteColocation uint32
}

// DDL is a schema change: catalog commands and statements for the nodes.
//
// The coordinator applies Before to the catalog, runs Work on the nodes,
// then applies After. If Work fails it runs Undo and applies Revert.
type DDL struct {
	Before []catalog.Command
	Revert catalog.Command
	After  []catalog.Command
	// Work returns the statements for each node, given the catalog after
	// Before was applied.
	Work func(snap *catalog.Snapshot) ([]executor.Target, error)
	Undo func(snap *catalog.Snapshot) []executor.Target
	Tag  string
	// NoTransaction marks work that cannot run inside a transaction block
	// (CONCURRENTLY, utility statements passed through as they are): it
	// runs node by node instead of as one two-phase-commit transaction.
	NoTransaction bool
}
