package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5/pgconn"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// The COPY formats and options, as the executor reads and writes them.
type (
	CopyFormat  = executor.CopyFormat
	CopyOptions = executor.CopyOptions
)

const (
	CopyText   = executor.CopyText
	CopyCSV    = executor.CopyCSV
	CopyBinary = executor.CopyBinary
)

// duplicateColumn is PostgreSQL's SQLSTATE for a column named twice.
const duplicateColumn = "42701"

// CopyChecker is a Shell that can run a COPY to or from a table with no
// data: the shell database's copy of every distributed table is empty, so
// PostgreSQL itself checks the statement (options, column lists, WHERE)
// and reports its own errors, in its own order, before any data moves.
// For COPY FROM, input is the data to send: no rows, in the statement's
// format.
type CopyChecker interface {
	CheckCopy(ctx context.Context, sql string, from bool, input []byte) error
}

// CopyIn is a COPY ... FROM STDIN into a distributed table: the
// coordinator splits the client's data into rows, finds each row's shard
// from its distribution column, and streams the rows to the shards.
type CopyIn struct {
	Table   *catalog.Table
	Columns []string
	// DistIndex is the position of the distribution column in Columns,
	// or -1 for tables without one (round robin, replicated).
	DistIndex int
	Options   CopyOptions
	// shardOptions is the option list sent to the shards (no HEADER: the
	// coordinator strips it).
	shardOptions string
	// where is the WHERE condition of each shard's COPY by shard ID (nil
	// without WHERE): a condition may name the table, whose shards have
	// names of their own.
	where map[int64]string
}

// ShardSQL is the COPY statement that loads rows into one shard.
func (c *CopyIn) ShardSQL(sh catalog.Shard) (string, error) {
	sql := "COPY " + qualifiedShard(c.Table, sh) + " (" + quotedList(c.Columns) + ") FROM STDIN" + c.shardOptions
	if c.where == nil {
		return sql, nil
	}
	cond, ok := c.where[sh.ID]
	if !ok {
		// The table's shards changed since the statement was planned.
		return "", pgerr.New(pgerr.ObjectNotInPrerequisiteState, "shard %d of %s changed during COPY", sh.ID, c.Table.Name).
			WithHint("Run the COPY again.")
	}
	return sql + " WHERE " + cond, nil
}

// ShardOf returns the index in Table.Shards of the shard a row belongs to,
// from its distribution value (text or binary as the format says; nil is
// NULL). Tables without a distribution column return -1.
func (c *CopyIn) ShardOf(v []byte) (int, error) {
	if c.DistIndex < 0 {
		return -1, nil
	}
	if v == nil {
		return 0, nil // as INSERT: NULL keys go to the first shard
	}
	format := executor.TextFormat
	if c.Options.Format == CopyBinary {
		format = executor.BinaryFormat
	}
	return shardIndex(c.Table, c.Table.DistType, v, format)
}

// CopyOut is a COPY ... TO STDOUT: of a whole distributed table (every
// shard's COPY, concatenated), or of a query (the query's plan, whose rows
// the coordinator formats).
type CopyOut struct {
	Table   *catalog.Table
	Columns []string
	Query   *Plan
	Options CopyOptions
	// shardOptions is the option list sent to the shards (no HEADER).
	shardOptions string
}

// ShardSQL is the COPY statement that reads one shard.
func (c *CopyOut) ShardSQL(sh catalog.Shard) string {
	return "COPY " + qualifiedShard(c.Table, sh) + " (" + quotedList(c.Columns) + ") TO STDOUT" + c.shardOptions
}

func quotedList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = sqlquote.Ident(c)
	}
	return strings.Join(q, ", ")
}

// planCopy plans COPY to or from a distributed table (or a query).
func planCopy(ctx context.Context, env *Env, st *Statement, cs *pg_query.CopyStmt) (*Plan, error) {
	if cs.Filename != "" || cs.IsProgram {
		return nil, pgerr.Unsupported("Use COPY ... FROM STDIN or TO STDOUT (psql: \\copy).", "COPY to or from a file or program on the server is not supported")
	}
	if cs.Query != nil {
		return planCopyQuery(ctx, env, st, cs)
	}
	t := resolve(env, cs.Relation)
	if t == nil {
		// Not a distributed table: the shell database's own (temporary
		// tables); COPY there needs the protocol passed through.
		return nil, pgerr.Unsupported("COPY into distributed tables only.", "COPY of a table that is not distributed is not supported")
	}
	if err := checkOnShell(ctx, env, st, cs); err != nil {
		return nil, err
	}
	set, err := copyOptions(st.SQL, cs.Options, cs.IsFrom)
	if err != nil {
		return nil, err
	}
	cols, err := copyColumns(ctx, env, t, cs.Attlist)
	if err != nil {
		return nil, err
	}
	unknown := tableColumnCheck(ctx, env, t, cols)
	if cs.IsFrom {
		return planCopyIn(env, cs, t, cols, set, unknown)
	}
	// The shards quote; the list is only checked.
	if _, err := forceFlags("FORCE_QUOTE", set.forceQuote, cols, unknown); err != nil {
		return nil, err
	}
	return &Plan{Kind: KindCopyOut, CopyOut: &CopyOut{Table: t, Columns: cols, Options: set.opts, shardOptions: set.shardOptions()}}, nil
}

// checkOnShell has PostgreSQL check a COPY of a table on the shell
// database, when the shell can (see CopyChecker).
func checkOnShell(ctx context.Context, env *Env, st *Statement, cs *pg_query.CopyStmt) error {
	c, ok := env.Shell.(CopyChecker)
	if !ok {
		return nil
	}
	if err := c.CheckCopy(ctx, st.SQL, cs.IsFrom, emptyCopyInput(cs.Options)); err != nil && !isFreezeRule(err) {
		return err
	}
	return nil
}

// planCopyIn plans COPY FROM STDIN into table t, whose columns cols the
// data gives.
func planCopyIn(env *Env, cs *pg_query.CopyStmt, t *catalog.Table, cols []string, set *copyOptionSet, unknown func(string) error) (*Plan, error) {
	in := &CopyIn{Table: t, Columns: cols, DistIndex: -1, Options: set.opts, shardOptions: set.shardOptions()}
	var err error
	if in.Options.ForceNotNull, err = forceFlags("FORCE_NOT_NULL", set.forceNotNull, cols, unknown); err != nil {
		return nil, err
	}
	if in.Options.ForceNull, err = forceFlags("FORCE_NULL", set.forceNull, cols, unknown); err != nil {
		return nil, err
	}
	if t.Method == catalog.MethodHash || t.Method == catalog.MethodModulo {
		in.DistIndex = slices.Index(cols, t.DistColumn)
		if in.DistIndex < 0 {
			return nil, pgerr.Unsupported(fmt.Sprintf("List column %q; rows are placed by it.", t.DistColumn),
				"COPY into %s must give the distribution column %q", t.Name, t.DistColumn)
		}
	}
	for _, q := range env.Catalog.ColumnSequences(t.Schema, t.Name) {
		if !containsName(cols, q.OwnerColumn) {
			return nil, pgerr.Unsupported(fmt.Sprintf("List column %q and give its values.", q.OwnerColumn),
				"COPY into %s without column %q, whose values come from a global sequence, is not supported yet", t.Name, q.OwnerColumn)
		}
	}
	if cs.WhereClause != nil {
		if in.where, err = shardConditions(cs.WhereClause, t, unknown); err != nil {
			return nil, err
		}
	}
	return &Plan{Kind: KindCopyIn, CopyIn: in}, nil
}

// planCopyQuery plans COPY (query) TO STDOUT: the coordinator runs the
// query and formats its rows.
func planCopyQuery(ctx context.Context, env *Env, st *Statement, cs *pg_query.CopyStmt) (*Plan, error) {
	if cs.IsFrom {
		return nil, pgerr.New(pgerr.SyntaxError, "COPY FROM with a query is not allowed")
	}
	set, err := copyOptions(st.SQL, cs.Options, false)
	if err != nil {
		return nil, err
	}
	// The query is planned from its own text (the planner reads the text
	// at the nodes' locations); its errors point into the statement.
	sql, offset, err := copyQueryText(st.SQL)
	if err != nil {
		return nil, err
	}
	node, err := parseOne(sql)
	if err != nil {
		return nil, err
	}
	q, err := Build(ctx, env, &Statement{SQL: sql, Node: node})
	if err != nil {
		return nil, shiftPosition(err, st.SQL[:offset])
	}
	if q.Kind != KindQuery || len(q.Columns) == 0 {
		return nil, pgerr.Unsupported("", "COPY of this statement is not supported")
	}
	names := make([]string, len(q.Columns))
	for i, c := range q.Columns {
		names[i] = c.Name
	}
	opts := set.opts
	if set.forceQuoteAll {
		opts.ForceQuote = make([]bool, len(names))
		for i := range opts.ForceQuote {
			opts.ForceQuote[i] = true
		}
	}
	unknown := func(name string) error {
		if slices.Contains(names, name) {
			return nil
		}
		return pgerr.New(pgerr.UndefinedColumn, "column \"%s\" does not exist", name)
	}
	if set.forceQuote != nil {
		if opts.ForceQuote, err = forceFlags("FORCE_QUOTE", set.forceQuote, names, unknown); err != nil {
			return nil, err
		}
	}
	return &Plan{Kind: KindCopyOut, CopyOut: &CopyOut{Query: q, Options: opts}}, nil
}

// copyQueryText returns the text of the query of COPY (query) TO, and its
// byte offset in the statement: what the first parenthesis encloses.
func copyQueryText(sql string) (string, int, error) {
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return "", 0, fmt.Errorf("planner: scan COPY: %w", err)
	}
	depth, start := 0, 0
	for _, tok := range scan.Tokens {
		switch tok.Token {
		case pg_query.Token_ASCII_40: // (
			if depth == 0 {
				start = int(tok.End)
			}
			depth++
		case pg_query.Token_ASCII_41: // )
			if depth--; depth == 0 {
				return sql[start:tok.Start], start, nil
			}
		}
	}
	return "", 0, fmt.Errorf("planner: no query in %q", sql)
}

// shiftPosition moves an error's position (in the text of a part of a
// statement) past before, the statement's text in front of that part.
func shiftPosition(err error, before string) error {
	shift := int32(utf8.RuneCountInString(before))
	var ne *pgconn.PgError
	if errors.As(err, &ne) && ne.Position > 0 {
		c := *ne
		c.Position += shift
		return &c
	}
	var pe *pgerr.Error
	if errors.As(err, &pe) && pe.Position > 0 {
		c := *pe
		c.Position += shift
		return &c
	}
	return err
}

// isFreezeRule reports whether err is PostgreSQL refusing FREEZE because
// the table is not new in the (sub)transaction. The shards load without
// FREEZE, and the shell's table is not the one a TRUNCATE in the client's
// transaction empties, so the rule does not apply; PostgreSQL checks it
// after everything else.
func isFreezeRule(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgerr.ObjectNotInPrerequisiteState && strings.HasPrefix(pe.Message, "cannot perform COPY FREEZE")
}

// emptyCopyInput is COPY FROM data without rows: nothing, or in the binary
// format, whose header PostgreSQL requires, a header and a trailer. The
// options are not checked yet: PostgreSQL does before it reads data.
func emptyCopyInput(options []*pg_query.Node) []byte {
	for _, n := range options {
		if d := n.GetDefElem(); d.GetDefname() == "format" && d.Arg.GetString_().GetSval() == string(CopyBinary) {
			return append(append([]byte{}, executor.CopyBinaryHeader...), executor.CopyBinaryTrailer...)
		}
	}
	return nil
}

func containsName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// copyColumns returns the listed columns, or every column of the table in
// order.
func copyColumns(ctx context.Context, env *Env, t *catalog.Table, list []*pg_query.Node) ([]string, error) {
	var cols []string
	for _, n := range list {
		cols = append(cols, n.GetString_().GetSval())
	}
	if len(cols) > 0 {
		return cols, nil
	}
	return TableColumns(ctx, env.Shell, t.Schema, t.Name)
}

// tableColumnCheck returns a check that a name is a column of t, failing
// as PostgreSQL does. Names among cols (the COPY's columns) pass without
// asking the shell for the table's other columns.
func tableColumnCheck(ctx context.Context, env *Env, t *catalog.Table, cols []string) func(string) error {
	var all []string
	return func(name string) error {
		if slices.Contains(cols, name) {
			return nil
		}
		if all == nil {
			var err error
			if all, err = TableColumns(ctx, env.Shell, t.Schema, t.Name); err != nil {
				return err
			}
		}
		if slices.Contains(all, name) {
			return nil
		}
		return pgerr.New(pgerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", name, t.Name)
	}
}

// forceFlags turns the column list of a FORCE_* option into flags by
// position in cols (the COPY's columns), failing as PostgreSQL does: first
// for a name that is no column (unknown says) or is given twice, then for
// a column the COPY leaves out.
func forceFlags(option string, names, cols []string, unknown func(string) error) ([]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	for i, n := range names {
		if err := unknown(n); err != nil {
			return nil, err
		}
		if slices.Contains(names[:i], n) {
			return nil, pgerr.New(duplicateColumn, "column \"%s\" specified more than once", n)
		}
	}
	flags := make([]bool, len(cols))
	for _, n := range names {
		i := slices.Index(cols, n)
		if i < 0 {
			return nil, pgerr.New(pgerr.InvalidColumnReference, "%s column \"%s\" not referenced by COPY", option, n)
		}
		flags[i] = true
	}
	return flags, nil
}

// TableColumns asks the shell for a table's columns, in order.
func TableColumns(ctx context.Context, sh Shell, schema, table string) ([]string, error) {
	v, ok, err := sh.QueryValue(ctx, "SELECT string_agg(attname, chr(31) ORDER BY attnum) FROM pg_catalog.pg_attribute WHERE attrelid = "+
		sqlquote.Literal(sqlquote.Ident(schema)+"."+sqlquote.Ident(table))+"::regclass AND attnum > 0 AND NOT attisdropped")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pgerr.New(pgerr.UndefinedTable, "relation %q has no columns", table)
	}
	return strings.Split(v, "\x1f"), nil
}

// defElemString is a DefElem's argument as text ("" when absent).
func defElemString(d *pg_query.DefElem) string {
	switch {
	case d.Arg == nil:
		return ""
	case d.Arg.GetString_() != nil:
		return d.Arg.GetString_().GetSval()
	case d.Arg.GetInteger() != nil:
		return fmt.Sprint(d.Arg.GetInteger().Ival)
	case d.Arg.GetBoolean() != nil:
		return fmt.Sprint(d.Arg.GetBoolean().Boolval)
	case d.Arg.GetAStar() != nil:
		return "*"
	}
	return ""
}
