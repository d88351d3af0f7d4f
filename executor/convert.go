package executor

import (
	"context"

	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgtype"
)

// Convert re-encodes its input's text rows in the formats the client asked
// for. Plans whose top operator decodes values (merge, aggregate) read text
// from the nodes and end in a Convert.
type Convert struct {
	Input Operator
	// Ready marks output columns that already arrive in the client's
	// format.
	Ready []bool
}

var _ Operator = (*Convert)(nil)

func (c *Convert) Columns() []Column { return c.Input.Columns() }

func (c *Convert) Explain() Description { return c.Input.Explain() }

func (c *Convert) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	in, err := openStep(ctx, rt, c.Input, params)
	if err != nil {
		return nil, err
	}
	cols := c.Input.Columns()
	var binary []int
	for i := range cols {
		if i < len(c.Ready) && c.Ready[i] {
			continue
		}
		if rt.ResultFormat(i) == BinaryFormat {
			binary = append(binary, i)
		}
	}
	if len(binary) == 0 {
		return in, nil
	}
	return &convertRows{in: in, cols: cols, binary: binary, types: rt.Types, row: make([][]byte, len(cols))}, nil
}

type convertRows struct {
	in     Rows
	cols   []Column
	binary []int
	types  *pgtype.Map
	row    [][]byte
	buf    []byte
	err    error
}

func (r *convertRows) Next() bool {
	if !r.in.Next() {
		return false
	}
	copy(r.row, r.in.Values())
	r.buf = r.buf[:0]
	for _, i := range r.binary {
		v := r.row[i]
		if v == nil {
			continue
		}
		start := len(r.buf)
		out, err := textToBinary(r.types, r.cols[i].TypeOID, v, r.buf)
		if err != nil {
			r.err = err
			return false
		}
		r.buf = out
		r.row[i] = r.buf[start:len(r.buf):len(r.buf)]
	}
	return true
}

func (r *convertRows) Values() [][]byte { return r.row }

func (r *convertRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.in.Err()
}

func (r *convertRows) Close() (string, error) {
	tag, err := r.in.Close()
	if err == nil {
		err = r.err
	}
	return tag, err
}

// textToBinary re-encodes a text-format value in binary format.
func textToBinary(m *pgtype.Map, oid uint32, v []byte, buf []byte) ([]byte, error) {
	if oid == oidNumeric {
		return appendNumericBinary(buf, v)
	}
	t, ok := m.TypeForOID(oid)
	if !ok {
		return nil, pgerr.Unsupported("request text format for this column", "binary format is not supported for type %d in merged results", oid)
	}
	val, err := t.Codec.DecodeValue(m, oid, pgtype.TextFormatCode, v)
	if err != nil {
		return nil, pgerr.Unsupported("Request text results, or use DateStyle ISO.", "cannot send %q in binary format: %v", v, err)
	}
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, val, buf)
	if err != nil {
		return nil, err
	}
	return out, nil
}
