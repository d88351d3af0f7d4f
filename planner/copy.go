package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
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
}

// ShardSQL is the COPY statement that loads rows into one shard.
func (c *CopyIn) ShardSQL(sh catalog.Shard) string {
	return "COPY " + qualifiedShard(c.Table, sh) + " (" + quotedList(c.Columns) + ") FROM STDIN" + c.shardOptions
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
	if cs.WhereClause != nil {
		return nil, pgerr.Unsupported("Load into a staging table first, or filter the data before loading it.", "COPY FROM with WHERE is not supported")
	}
	opts, shardOpts, err := copyOptions(cs.Options)
	if err != nil {
		return nil, err
	}
	if cs.Query != nil {
		if cs.IsFrom {
			return nil, pgerr.New(pgerr.SyntaxError, "COPY FROM with a query is not allowed")
		}
		if opts.Format == CopyBinary {
			return nil, pgerr.Unsupported("Use FORMAT text or csv for COPY of a query.", "COPY (query) TO STDOUT in binary format is not supported")
		}
		sql, err := deparse(cs.Query)
		if err != nil {
			return nil, err
		}
		q, err := Build(ctx, env, &Statement{SQL: sql, Node: cs.Query})
		if err != nil {
			return nil, err
		}
		if q.Kind != KindQuery || len(q.Columns) == 0 {
			return nil, pgerr.Unsupported("", "COPY of this statement is not supported")
		}
		return &Plan{Kind: KindCopyOut, CopyOut: &CopyOut{Query: q, Options: opts, shardOptions: shardOpts}}, nil
	}
	t := resolve(env, cs.Relation)
	if t == nil {
		// Not a distributed table: the shell database's own (temporary
		// tables); COPY there needs the protocol passed through.
		return nil, pgerr.Unsupported("COPY into distributed tables only.", "COPY of a table that is not distributed is not supported")
	}
	cols, err := copyColumns(ctx, env, t, cs.Attlist)
	if err != nil {
		return nil, err
	}
	if !cs.IsFrom {
		return &Plan{Kind: KindCopyOut, CopyOut: &CopyOut{Table: t, Columns: cols, Options: opts, shardOptions: shardOpts}}, nil
	}
	in := &CopyIn{Table: t, Columns: cols, DistIndex: -1, Options: opts, shardOptions: shardOpts}
	if t.Method == catalog.MethodHash || t.Method == catalog.MethodModulo {
		for i, c := range cols {
			if c == t.DistColumn {
				in.DistIndex = i
			}
		}
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
	return &Plan{Kind: KindCopyIn, CopyIn: in}, nil
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

// copyOptions reads COPY's options, and renders those the shards get.
func copyOptions(list []*pg_query.Node) (CopyOptions, string, error) {
	o := CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`, Quote: '"'}
	escapeSet, nullSet, delimSet := false, false, false
	var shard []string
	var err error
	for _, n := range list {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		str := defElemString(d)
		switch d.Defname {
		case "format":
			switch strings.ToLower(str) {
			case "text":
				o.Format = CopyText
			case "csv":
				o.Format = CopyCSV
			case "binary":
				o.Format = CopyBinary
			default:
				return o, "", pgerr.New(pgerr.InvalidParameterValue, "COPY format %q not recognized", str)
			}
			shard = append(shard, "FORMAT "+string(o.Format))
		case "delimiter":
			if o.Delimiter, err = oneByte(d.Defname, str); err != nil {
				return o, "", err
			}
			delimSet = true
			shard = append(shard, "DELIMITER "+sqlquote.Literal(str))
		case "null":
			o.Null, nullSet = str, true
			shard = append(shard, "NULL "+sqlquote.Literal(str))
		case "header":
			o.Header = str == "" || strings.EqualFold(str, "true") || strings.EqualFold(str, "on") || str == "1" || strings.EqualFold(str, "match")
		case "quote":
			if o.Quote, err = oneByte(d.Defname, str); err != nil {
				return o, "", err
			}
			shard = append(shard, "QUOTE "+sqlquote.Literal(str))
		case "escape":
			if o.Escape, err = oneByte(d.Defname, str); err != nil {
				return o, "", err
			}
			escapeSet = true
			shard = append(shard, "ESCAPE "+sqlquote.Literal(str))
		case "encoding":
			shard = append(shard, "ENCODING "+sqlquote.Literal(str))
		case "force_not_null", "force_null", "force_quote":
			return o, "", pgerr.Unsupported("Load without it.", "COPY option %s is not supported yet", strings.ToUpper(d.Defname))
		case "freeze":
		default:
			return o, "", pgerr.New(pgerr.SyntaxError, "option %q not recognized", d.Defname)
		}
	}
	if o.Format == CopyCSV {
		if !delimSet {
			o.Delimiter = ','
		}
		if !nullSet {
			o.Null = ""
		}
		if !escapeSet {
			o.Escape = o.Quote
		}
	}
	opts := ""
	if len(shard) > 0 {
		opts = " (" + strings.Join(shard, ", ") + ")"
	}
	return o, opts, nil
}

// oneByte checks a COPY option that must be a single byte.
func oneByte(option, v string) (byte, error) {
	if len(v) != 1 {
		return 0, pgerr.New(pgerr.FeatureNotSupported, "COPY %s must be a single one-byte character", option)
	}
	return v[0], nil
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
