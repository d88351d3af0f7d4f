package executor

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5/pgconn"
)

// PullTable is a table whose rows a Pull copies into a temporary table.
type PullTable struct {
	// Temp is the temporary table's quoted name (in pg_temp).
	Temp string
	// Like is the quoted logical table whose columns the temporary table
	// copies.
	Like string
	// Sources yield the table's rows (all shards, each once), in table
	// column order.
	Sources []Target
	// UsesParams: the sources' conditions use the statement's parameters.
	UsesParams bool
}

// Pull runs a statement that cannot be split over the shards on one node
// with PostgreSQL's full semantics: it copies the rows of every table the
// statement reads into temporary tables of one session on that node's
// shell database, then runs the statement there, with the table references
// renamed to the temporary tables. The copy is bounded by
// Runtime.MaxIntermediateBytes.
type Pull struct {
	Node     catalog.Node
	Database string
	Tables   []PullTable
	SQL      string
	Cols     []Column
}

var _ Operator = (*Pull)(nil)

func (p *Pull) Columns() []Column { return p.Cols }

func (p *Pull) Explain() Description {
	d := Description{Operator: "Pull", Detail: []string{"Node: " + p.Node.Name, "SQL: " + p.SQL}}
	for _, t := range p.Tables {
		g := (&Gather{Targets: t.Sources}).Explain()
		g.Operator = "Copy into " + t.Temp
		d.Inputs = append(d.Inputs, g)
	}
	return d
}

func (p *Pull) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	conn, err := rt.Conns.Acquire(ctx, p.Node, p.Database)
	if err != nil {
		return nil, err
	}
	r := &pullRows{p: p, conn: conn}
	var copied int64
	for _, t := range p.Tables {
		budget := int64(-1) // no bound
		if rt.MaxIntermediateBytes > 0 {
			budget = max(rt.MaxIntermediateBytes-copied, 0)
		}
		n, err := p.copyTable(ctx, rt, conn, t, params, budget)
		copied += n
		if err != nil {
			r.cleanup(err)
			return nil, err
		}
		r.created = append(r.created, t.Temp)
	}
	r.res = conn.PgConn().ExecParams(ctx, p.SQL, params.Values, params.OIDs, params.Formats, rt.ResultFormats)
	return r, nil
}

var errTooLarge = errors.New("intermediate result too large")

// tooLarge is the error for an intermediate result past limit bytes.
func tooLarge(limit int64) error {
	return pgerr.New(pgerr.ProgramLimitExceeded, "intermediate result exceeds distgres.max_intermediate_result_size (%d bytes)", limit).
		WithHint("Fix the distribution column to one value, filter the tables more, or raise distgres.max_intermediate_result_size.")
}

// copyTable creates a temporary table and streams the sources' rows into
// it with COPY in binary format, at most budget bytes (-1: no bound).
func (p *Pull) copyTable(ctx context.Context, rt *Runtime, conn Conn, t PullTable, params Params, budget int64) (int64, error) {
	pc := conn.PgConn()
	if err := createPullTable(ctx, pc, t); err != nil {
		return 0, err
	}
	g := &Gather{Targets: t.Sources}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !t.UsesParams {
		params = Params{}
	}
	rows, err := g.openBinary(ctx, rt, params)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	type copied struct {
		n   int64
		err error
	}
	done := make(chan copied, 1)
	go func() {
		var n int64
		w := bufio.NewWriterSize(pw, 64<<10)
		err := writeCopyBinary(w, rows, budget, &n)
		if err == nil {
			err = w.Flush()
		}
		if _, cerr := rows.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
		done <- copied{n, err}
	}()
	_, err = pc.CopyFrom(ctx, pr, "COPY "+t.Temp+" FROM STDIN (FORMAT binary)")
	pr.CloseWithError(io.ErrClosedPipe)
	res := <-done
	if errors.Is(res.err, errTooLarge) {
		return res.n, tooLarge(rt.MaxIntermediateBytes)
	}
	if err == nil {
		err = res.err
	}
	return res.n, err
}

// openBinary starts the targets with every column in binary format. They
// get the statement's parameters: a narrowed source's conditions may use
// them.
func (g *Gather) openBinary(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	brt := *rt
	brt.ResultFormats = []int16{BinaryFormat}
	return g.Open(ctx, &brt, params)
}

// writeCopyBinary writes rows as PostgreSQL's binary COPY stream.
func writeCopyBinary(w *bufio.Writer, rows Rows, budget int64, written *int64) error {
	writeCopyHeader(w)
	for rows.Next() {
		*written += writeCopyRow(w, nil, rows.Values())
		if budget >= 0 && *written > budget {
			return errTooLarge
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return writeCopyTrailer(w)
}

// writeCopyHeader starts a binary COPY stream.
func writeCopyHeader(w *bufio.Writer) {
	w.WriteString("PGCOPY\n\xff\r\n\x00")
	w.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0})
}

// writeCopyRow writes one row of a binary COPY stream: the fields first,
// then vals (raw binary values, nil for NULL). It returns the bytes
// written.
func writeCopyRow(w *bufio.Writer, first [][]byte, vals [][]byte) int64 {
	var b [4]byte
	binary.BigEndian.PutUint16(b[:2], uint16(len(first)+len(vals)))
	w.Write(b[:2])
	n := int64(2)
	for _, list := range [2][][]byte{first, vals} {
		for _, v := range list {
			if v == nil {
				binary.BigEndian.PutUint32(b[:], 0xFFFFFFFF)
				w.Write(b[:])
				n += 4
				continue
			}
			binary.BigEndian.PutUint32(b[:], uint32(len(v)))
			w.Write(b[:])
			w.Write(v)
			n += 4 + int64(len(v))
		}
	}
	return n
}

// writeCopyTrailer ends a binary COPY stream.
func writeCopyTrailer(w *bufio.Writer) error {
	_, err := w.Write([]byte{0xFF, 0xFF})
	return err
}

type pullRows struct {
	p       *Pull
	conn    Conn
	res     *pgconn.ResultReader
	created []string
	closed  bool
}

func (r *pullRows) Next() bool { return r.res.NextRow() }

func (r *pullRows) Values() [][]byte { return r.res.Values() }

func (r *pullRows) Err() error { return nil }

func (r *pullRows) Close() (string, error) {
	if r.closed {
		return "", nil
	}
	r.closed = true
	tag, err := r.res.Close()
	r.cleanup(err)
	return tag.String(), err
}

// cleanup drops the temporary tables and returns the connection.
func (r *pullRows) cleanup(err error) {
	broken := err != nil && !pgerr.FromDataNode(err)
	if !broken && len(r.created) > 0 && r.conn.PgConn().TxStatus() != 'E' {
		_, derr := r.conn.PgConn().Exec(context.Background(), "DROP TABLE IF EXISTS "+strings.Join(r.created, ", ")).ReadAll()
		broken = derr != nil
	}
	r.conn.Release(broken || r.conn.PgConn().IsClosed())
}

// createPullTable creates the temporary table of a pull, without the
// logical table's constraints: a narrowed pull copies NULL for the columns
// the statement does not read, NOT NULL or not. A table of that name left
// by an earlier pull that could not clean up is dropped first, without
// DROP TABLE IF EXISTS (whose notice the client would see) and without an
// error (which would end the client's transaction block).
func createPullTable(ctx context.Context, pc *pgconn.PgConn, t PullTable) error {
	name := sqlquote.Literal(t.Temp)
	sql := "DO $distgres$BEGIN IF pg_catalog.to_regclass(" + name + ") IS NOT NULL THEN EXECUTE 'DROP TABLE ' || " + name + "; END IF; END$distgres$; " +
		"CREATE TEMPORARY TABLE " + t.Temp + " AS SELECT * FROM " + t.Like + " WITH NO DATA"
	_, err := pc.Exec(ctx, sql).ReadAll()
	return err
}
