package executor

import (
	"bytes"
	"encoding/binary"
)

// AppendCopyRow appends one row of text-format values (nil for NULL) in
// COPY's text or CSV format.
func AppendCopyRow(dst []byte, vals [][]byte, o CopyOptions) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, o.Delimiter)
		}
		switch {
		case v == nil:
			dst = append(dst, o.Null...)
		case o.Format == CopyCSV:
			dst = appendCSVValue(dst, v, o, forced(o.ForceQuote, i), len(vals) == 1)
		default:
			dst = appendTextValue(dst, v, o.Delimiter)
		}
	}
	return append(dst, '\n')
}

// AppendCopyHeader appends a CSV or text header line of column names.
func AppendCopyHeader(dst []byte, names []string, o CopyOptions) []byte {
	vals := make([][]byte, len(names))
	for i, n := range names {
		vals[i] = []byte(n)
	}
	o.ForceQuote = nil // PostgreSQL quotes names only where they need it
	return AppendCopyRow(dst, vals, o)
}

// AppendCopyBinaryRow appends one tuple of binary-format values (nil for
// NULL) in COPY's binary format: the field count, then each field's length
// (-1 for NULL) and bytes.
func AppendCopyBinaryRow(dst []byte, vals [][]byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(vals)))
	for _, v := range vals {
		if v == nil {
			dst = binary.BigEndian.AppendUint32(dst, 0xffffffff)
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

func appendTextValue(dst, v []byte, delim byte) []byte {
	for _, c := range v {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			if delim == '\t' {
				dst = append(dst, '\\', 't')
			} else {
				dst = append(dst, c)
			}
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\v':
			dst = append(dst, '\\', 'v')
		default:
			if c == delim {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCSVValue appends a non-NULL CSV value, quoted when force is set
// or when it could be misread: it holds a delimiter, quote, escape or line
// end, it equals the null string, or it is the end marker \. alone on a
// line (single: the row has one column).
func appendCSVValue(dst, v []byte, o CopyOptions, force, single bool) []byte {
	needQuote := force || string(v) == o.Null || single && string(v) == `\.`
	for i := 0; i < len(v) && !needQuote; i++ {
		c := v[i]
		needQuote = c == o.Delimiter || c == o.Quote || c == '\n' || c == '\r' || c == o.Escape
	}
	if !needQuote {
		return append(dst, v...)
	}
	dst = append(dst, o.Quote)
	for _, c := range v {
		if c == o.Quote || c == o.Escape {
			dst = append(dst, o.Escape)
		}
		dst = append(dst, c)
	}
	return append(dst, o.Quote)
}

// BinaryCopyBody passes on the tuples of one shard's binary COPY output,
// dropping its header and its trailer, so that several shards' output can
// follow one header.
type BinaryCopyBody struct {
	skip    int    // header bytes still to drop
	pending []byte // the last bytes seen, which may be the trailer
	out     func([]byte) error
}

// NewBinaryCopyBody returns a filter that calls out with tuple bytes.
func NewBinaryCopyBody(out func([]byte) error) *BinaryCopyBody {
	return &BinaryCopyBody{skip: len(CopyBinaryHeader), out: out}
}

func (b *BinaryCopyBody) Write(p []byte) (int, error) {
	n := len(p)
	if b.skip > 0 {
		k := min(b.skip, len(p))
		b.skip -= k
		p = p[k:]
	}
	data := append(b.pending, p...)
	if len(data) <= 2 {
		b.pending = data
		return n, nil
	}
	if err := b.out(data[:len(data)-2]); err != nil {
		return 0, err
	}
	b.pending = append(b.pending[:0:0], data[len(data)-2:]...)
	return n, nil
}

// End checks the held-back bytes are the trailer.
func (b *BinaryCopyBody) End() error {
	if len(b.pending) > 0 && !bytes.Equal(b.pending, CopyBinaryTrailer) {
		return b.out(b.pending)
	}
	return nil
}
