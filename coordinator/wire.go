package coordinator

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgproto3/v2"
)

// limitedReader is a pgproto3 ChunkReader that refuses oversized messages
// before allocating for them.
type limitedReader struct {
	cr  pgproto3.ChunkReader
	max int
}

var errMessageTooLarge = errors.New("message too large")

func (l *limitedReader) Next(n int) ([]byte, error) {
	if n > l.max {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", errMessageTooLarge, n, l.max)
	}
	return l.cr.Next(n)
}

// writer buffers everything sent to the client; it is flushed once per
// ReadyForQuery (and on Flush, and before waiting for client input).
type writer struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (w *writer) send(msg pgproto3.BackendMessage) {
	if w.err != nil {
		return
	}
	var err error
	w.buf, err = msg.Encode(w.buf[:0])
	if err != nil {
		w.err = err
		return
	}
	_, w.err = w.w.Write(w.buf)
}

// dataRow writes a DataRow without building a message value. The header
// and lengths go through w.buf: a local array passed to the bufio.Writer
// would escape and cost an allocation per row.
func (w *writer) dataRow(vals [][]byte) {
	if w.err != nil {
		return
	}
	size := 4 + 2
	for _, v := range vals {
		size += 4 + len(v)
	}
	w.buf = binary.BigEndian.AppendUint16(w.header('D', size), uint16(len(vals)))
	w.w.Write(w.buf)
	for _, v := range vals {
		if v == nil {
			w.buf = binary.BigEndian.AppendUint32(w.buf[:0], 0xFFFFFFFF)
			w.w.Write(w.buf)
			continue
		}
		w.buf = binary.BigEndian.AppendUint32(w.buf[:0], uint32(len(v)))
		w.w.Write(w.buf)
		_, w.err = w.w.Write(v)
	}
}

// copyData writes a CopyData message of data; a CopyData value handed to
// send would be allocated for every row.
func (w *writer) copyData(data []byte) {
	if w.err != nil {
		return
	}
	w.w.Write(w.header('d', 4+len(data)))
	_, w.err = w.w.Write(data)
}

// header puts a message's type byte and length (which counts itself) in
// w.buf and returns it.
func (w *writer) header(typ byte, length int) []byte {
	w.buf = binary.BigEndian.AppendUint32(append(w.buf[:0], typ), uint32(length))
	return w.buf
}

func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}

// errorResponse turns an error into the message a client gets.
func errorResponse(err error, positionOffset int32) *pgproto3.ErrorResponse {
	f := pgerr.FieldsOf(err)
	f.Message = logicalNames(f.Message)
	f.TableName = logicalNames(f.TableName)
	f.ConstraintName = logicalNames(f.ConstraintName)
	pos := f.Position
	if pos > 0 {
		pos += positionOffset
	}
	return &pgproto3.ErrorResponse{
		Severity: f.Severity, SeverityUnlocalized: f.Severity, Code: f.Code, Message: f.Message,
		Detail: f.Detail, Hint: f.Hint, Position: pos, Where: f.Where, SchemaName: f.SchemaName,
		TableName: f.TableName, ColumnName: f.ColumnName, DataTypeName: f.DataTypeName,
		ConstraintName: f.ConstraintName, InternalPosition: f.InternalPosition, InternalQuery: f.InternalQuery,
	}
}

// rowDescription describes columns with the given result formats.
func rowDescription(cols []executor.Column, format func(int) int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name: []byte(c.Name), TableOID: c.TableOID, TableAttributeNumber: c.TableAttr,
			DataTypeOID: c.TypeOID, DataTypeSize: c.TypeSize, TypeModifier: c.TypeModifier, Format: format(i),
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// shardName matches the shard-specific part of a name: a table
// "accounts_102010", or an index or constraint "accounts_102010_pkey".
var shardName = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_$]*?)_[1-9][0-9]{5,}(_[A-Za-z0-9_$]+)?\b`)

// logicalNames turns shard names in a data node's message back into the
// names of the logical table and its constraints.
func logicalNames(s string) string {
	if s == "" {
		return s
	}
	return shardName.ReplaceAllString(s, "$1$2")
}
