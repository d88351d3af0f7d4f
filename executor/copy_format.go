package executor

import "bytes"

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
			dst = appendCSVValue(dst, v, o)
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
	return AppendCopyRow(dst, vals, o)
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

func appendCSVValue(dst, v []byte, o CopyOptions) []byte {
	needQuote := string(v) == o.Null || len(v) == 0 && o.Null == ""
	for _, c := range v {
		if c == o.Delimiter || c == o.Quote || c == '\n' || c == '\r' || c == o.Escape {
			needQuote = true
			break
		}
	}
	if !needQuote {
		return append(dst, v...)
	}
	dst = append(dst, o.Quote)
	for _, c := range v {
		if c == o.Quote || c == o.Escape && o.Escape != o.Quote {
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
