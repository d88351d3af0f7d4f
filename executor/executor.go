// Package executor runs plan trees: it fans fragments out over data-node
// connections, streams their rows back and merges them (concatenation, merge
// sort, limit, two-phase aggregate combine). Operators are data built by the
// planner; all I/O goes through the ConnSource in the Runtime.
package executor

import (
	"context"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Format codes of the wire protocol.
const (
	TextFormat   int16 = 0
	BinaryFormat int16 = 1
)

// Column describes one result column, as in a RowDescription.
type Column struct {
	Name         string
	TableOID     uint32
	TableAttr    uint16
	TypeOID      uint32
	TypeSize     int16
	TypeModifier int32
}

// Params are a statement's bound parameters, in wire form.
type Params struct {
	Values  [][]byte
	Formats []int16
	OIDs    []uint32
}

// Format returns the format code of parameter i (0-based), following the
// protocol's rule for zero, one or one-per-parameter format codes.
func (p Params) Format(i int) int16 {
	switch len(p.Formats) {
	case 0:
		return TextFormat
	case 1:
		return p.Formats[0]
	default:
		return p.Formats[i]
	}
}

// Conn is a data-node connection lent to an operator until Release.
type Conn interface {
	PgConn() *pgconn.PgConn
	// Release returns the connection; broken marks it unusable.
	Release(broken bool)
	// Retryable says whether a statement that found the connection dead
	// may be sent again on another one (false inside a transaction).
	Retryable() bool
}

// PreambleConn is a Conn with statements to run before the next one on
// it (a transaction block not opened yet); a caller that takes them sends
// them in the same round trip as its own.
type PreambleConn interface {
	TakePreamble() []string
}

// ConnSource lends connections to data nodes. It is satisfied by the node
// pools and by a transaction's pinned connections.
type ConnSource interface {
	Acquire(ctx context.Context, node catalog.Node, database string) (Conn, error)
}

// Runtime is what operators need at execution time.
type Runtime struct {
	Conns ConnSource
	// ResultFormats are the client's requested result formats (Bind's
	// result format codes, unnormalised).
	ResultFormats []int16
	Types         *pgtype.Map
	// Stmts, if set, reuses prepared statements on data-node connections.
	Stmts *StatementCache
	// MaxIntermediateBytes bounds the rows a Pull copies (0: no bound).
	MaxIntermediateBytes int64
	// MaxBroadcastBytes bounds the rows a Broadcast ships in statements;
	// past it the Broadcast pulls (0: no bound).
	MaxBroadcastBytes int64
	// Steps, when set (EXPLAIN ANALYZE), collects each operator's rows and
	// time.
	Steps *Steps
	// ShipSlots, when set, bounds the statements shipping rows through
	// temporary tables at once: each holds a session per node of the shard
	// pool while its sources take others from the same pool, so without a
	// bound enough of them would wait for each other forever.
	ShipSlots chan struct{}
	// InBlock: the statement runs in a transaction block, whose
	// connections must not create temporary tables (a transaction that
	// touched one cannot be prepared for two-phase commit).
	InBlock bool
	// Inlined replaces the placeholders of shipped tables (see Broadcast)
	// by their rows in statements before they are sent.
	Inlined *strings.Replacer
}

// ResultFormat returns the requested format of result column i.
func (rt *Runtime) ResultFormat(i int) int16 {
	switch len(rt.ResultFormats) {
	case 0:
		return TextFormat
	case 1:
		return rt.ResultFormats[0]
	default:
		if i < len(rt.ResultFormats) {
			return rt.ResultFormats[i]
		}
		return TextFormat
	}
}

// Rows is a stream of result rows, pgx style.
type Rows interface {
	// Next advances to the next row; false at the end or on error.
	Next() bool
	// Values are the current row's raw wire values (nil for NULL), valid
	// until the next call to Next.
	Values() [][]byte
	Err() error
	// Close ends the stream (stopping any remaining work) and returns the
	// command tag.
	Close() (string, error)
}

// Operator is a node of a plan tree.
type Operator interface {
	Open(ctx context.Context, rt *Runtime, params Params) (Rows, error)
	// Columns is the output schema, known before execution (nil for
	// statements that return no rows).
	Columns() []Column
	Explain() Description
}

// Description is an operator's EXPLAIN entry.
type Description struct {
	Operator string
	Detail   []string
	Inputs   []Description
	// Fragment is one statement the operator sends to a data node (nil:
	// none), for EXPLAIN to show that node's own plan of it.
	Fragment *Target
	// Op is the operator described (set by Describe), for EXPLAIN ANALYZE
	// to find its statistics.
	Op Operator
}
