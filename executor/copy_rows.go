package executor

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// CopyFormat is a COPY data format.
type CopyFormat string

const (
	CopyText   CopyFormat = "text"
	CopyCSV    CopyFormat = "csv"
	CopyBinary CopyFormat = "binary"
)

// CopyOptions are the COPY options the coordinator needs to read or write
// COPY data itself.
type CopyOptions struct {
	Format    CopyFormat
	Delimiter byte
	Null      string
	Header    bool
	Quote     byte
	Escape    byte
	// ForceQuote, ForceNotNull and ForceNull are CSV's FORCE_QUOTE,
	// FORCE_NOT_NULL and FORCE_NULL, by position in the COPY's column list
	// (nil: no column).
	ForceQuote, ForceNotNull, ForceNull []bool
}

// forced reports whether flags (a FORCE_* option) holds for column i.
func forced(flags []bool, i int) bool {
	return i < len(flags) && flags[i]
}

// CopySignature starts COPY's binary format; a header is the signature,
// 32 bits of flags and a 32-bit header extension length.
var CopySignature = []byte("PGCOPY\n\xff\r\n\x00")

// CopyBinaryHeader is the header distgres writes (no flags, no extension).
var CopyBinaryHeader = append(append([]byte{}, CopySignature...), 0, 0, 0, 0, 0, 0, 0, 0)

// CopyBinaryTrailer ends COPY binary data.
var CopyBinaryTrailer = []byte{0xff, 0xff}

// CopyRowError is a malformed row found by the coordinator.
type CopyRowError struct {
	Line   int64
	Column int // index of the column, -1 when not about one column
	Msg    string
	Code   string
}

func (e *CopyRowError) Error() string { return e.Msg }

// CopyRowReader cuts COPY FROM data, fed in arbitrary pieces, into rows,
// and decodes one column of each (the distribution column) so the row can
// be routed. Rows are handed out as they are in the input, ready to be sent
// on to a data node in the same format.
type CopyRowReader struct {
	opts CopyOptions
	col  int // column to decode, -1 for none

	buf    []byte
	pos    int
	line   int64 // lines (binary: tuples) consumed
	header bool  // the header is still to be skipped
	ended  bool  // the end marker or binary trailer was seen
	key    []byte
}

// NewCopyRowReader returns a reader decoding column col (-1: none).
func NewCopyRowReader(opts CopyOptions, col int) *CopyRowReader {
	return &CopyRowReader{opts: opts, col: col, header: opts.Header || opts.Format == CopyBinary}
}

// Feed appends a piece of input.
func (r *CopyRowReader) Feed(data []byte) {
	if r.pos > 0 && r.pos == len(r.buf) {
		r.buf, r.pos = r.buf[:0], 0
	} else if r.pos > 1<<20 {
		r.buf = append(r.buf[:0], r.buf[r.pos:]...)
		r.pos = 0
	}
	r.buf = append(r.buf, data...)
}

// Line is the number of input lines (binary: tuples) taken so far; the
// line being read when the input stops is Line()+1.
func (r *CopyRowReader) Line() int64 {
	return r.line
}

// Next returns the next complete row (valid until the next Feed), the
// decoded value of the column (nil for NULL) and the row's line number;
// ok is false when more input is needed.
func (r *CopyRowReader) Next() (row, key []byte, line int64, ok bool, err error) {
	return r.next(false)
}

// Last returns what is left after the input ended: a final row without a
// line end (text and CSV accept one), or an error for truncated input.
func (r *CopyRowReader) Last() (row, key []byte, line int64, ok bool, err error) {
	row, key, line, ok, err = r.next(true)
	if err == nil && !ok && r.pos < len(r.buf) && !r.ended {
		err = &CopyRowError{Line: r.line + 1, Column: -1, Code: "22P04", Msg: "unexpected EOF in COPY data"}
	}
	// Binary data may end without its trailer, as PostgreSQL allows.
	return row, key, line, ok, err
}

func (r *CopyRowReader) next(final bool) ([]byte, []byte, int64, bool, error) {
	for {
		if r.ended {
			return nil, nil, 0, false, nil
		}
		var row []byte
		var lines int64
		var err error
		switch r.opts.Format {
		case CopyBinary:
			row, err = r.binaryRow()
			lines = 1
		case CopyCSV:
			row, lines, err = r.csvRow(final)
		default:
			row, lines, err = r.textRow(final)
		}
		if err != nil || row == nil {
			return nil, nil, 0, false, err
		}
		r.line += lines
		line := r.line - lines + 1
		if r.header {
			r.header = false // the header line, or binary header
			continue
		}
		if r.ended {
			return nil, nil, 0, false, nil
		}
		key, err := r.decode(row, line)
		if err != nil {
			return nil, nil, 0, false, err
		}
		return row, key, line, true, nil
	}
}

// textRow cuts one line; "\." alone ends the data.
func (r *CopyRowReader) textRow(final bool) ([]byte, int64, error) {
	rest := r.buf[r.pos:]
	var row []byte
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		row = rest[:i+1]
		r.pos += i + 1
	} else {
		if !final || len(rest) == 0 {
			return nil, 0, nil
		}
		// The last line may lack its line end.
		row = append(append(make([]byte, 0, len(rest)+1), rest...), '\n')
		r.pos = len(r.buf)
	}
	if t := bytes.TrimRight(row, "\r\n"); len(t) == 2 && t[0] == '\\' && t[1] == '.' {
		r.ended = true
	}
	return row, 1, nil
}

// csvRow cuts one record, which may span lines inside quotes.
func (r *CopyRowReader) csvRow(final bool) ([]byte, int64, error) {
	rest := r.buf[r.pos:]
	q, esc := r.opts.Quote, r.opts.Escape
	inQuote := false
	lines := int64(1)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case inQuote && c == esc && esc != q && i+1 < len(rest):
			i++
		case inQuote && c == esc && esc != q:
			if !final {
				return nil, 0, nil
			}
		case c == q:
			if inQuote && esc == q && i+1 < len(rest) && rest[i+1] == q {
				i++
				continue
			}
			if inQuote && esc == q && i+1 == len(rest) && !final {
				return nil, 0, nil // a doubled quote may be split
			}
			inQuote = !inQuote
		case c == '\n':
			if inQuote {
				lines++
				continue
			}
			row := rest[:i+1]
			r.pos += i + 1
			if t := bytes.TrimRight(row, "\r\n"); len(t) == 2 && t[0] == '\\' && t[1] == '.' {
				r.ended = true
			}
			return row, lines, nil
		}
	}
	if !final || len(rest) == 0 {
		return nil, 0, nil
	}
	if inQuote {
		return nil, 0, &CopyRowError{Line: r.line + 1, Column: -1, Code: "22P04", Msg: "unterminated CSV quoted field"}
	}
	r.pos = len(r.buf)
	return append(append(make([]byte, 0, len(rest)+1), rest...), '\n'), lines, nil
}

// binaryRow cuts the header (as a row of its own) or one tuple.
func (r *CopyRowReader) binaryRow() ([]byte, error) {
	rest := r.buf[r.pos:]
	if r.header {
		if len(rest) < len(CopySignature)+8 {
			return nil, nil
		}
		if !bytes.Equal(rest[:len(CopySignature)], CopySignature) {
			return nil, &CopyRowError{Line: 0, Column: -1, Code: "22P04", Msg: "COPY file signature not recognized"}
		}
		ext := int(binary.BigEndian.Uint32(rest[len(CopySignature)+4:]))
		n := len(CopySignature) + 8 + ext
		if ext < 0 || len(rest) < n {
			return nil, nil
		}
		r.pos += n
		r.line-- // the header is not a tuple
		return rest[:n], nil
	}
	if len(rest) < 2 {
		return nil, nil
	}
	fields := int16(binary.BigEndian.Uint16(rest))
	if fields == -1 {
		r.pos += 2
		r.ended = true
		r.line--
		return rest[:2], nil
	}
	p := 2
	for f := 0; f < int(fields); f++ {
		if len(rest) < p+4 {
			return nil, nil
		}
		l := int32(binary.BigEndian.Uint32(rest[p:]))
		p += 4
		if l > 0 {
			if len(rest) < p+int(l) {
				return nil, nil
			}
			p += int(l)
		}
	}
	r.pos += p
	return rest[:p], nil
}

// decode returns the value of the reader's column in row.
func (r *CopyRowReader) decode(row []byte, line int64) ([]byte, error) {
	if r.col < 0 {
		return nil, nil
	}
	missing := &CopyRowError{Line: line, Column: r.col, Code: "22P04", Msg: "missing data for column"}
	switch r.opts.Format {
	case CopyBinary:
		fields := int(int16(binary.BigEndian.Uint16(row)))
		if r.col >= fields {
			return nil, missing
		}
		p := 2
		for f := 0; ; f++ {
			l := int32(binary.BigEndian.Uint32(row[p:]))
			p += 4
			if f == r.col {
				if l < 0 {
					return nil, nil
				}
				return row[p : p+int(l)], nil
			}
			if l > 0 {
				p += int(l)
			}
		}
	case CopyCSV:
		raw, quoted, ok := r.csvField(row)
		if !ok {
			return nil, missing
		}
		return csvValue(raw, quoted, r.opts, r.col), nil
	}
	raw, ok := textField(row, r.opts.Delimiter, r.col)
	if !ok {
		return nil, missing
	}
	if string(raw) == r.opts.Null {
		return nil, nil
	}
	r.key = unescapeText(r.key[:0], raw)
	return r.key, nil
}

// textField returns field col of a text row, still escaped.
func textField(row []byte, delim byte, col int) ([]byte, bool) {
	row = bytes.TrimRight(row, "\r\n")
	f, start := 0, 0
	for i := 0; i <= len(row); i++ {
		if i == len(row) || row[i] == delim {
			if f == col {
				return row[start:i], true
			}
			f++
			start = i + 1
			continue
		}
		if row[i] == '\\' {
			i++
		}
	}
	return nil, false
}

// unescapeText decodes COPY text escapes (\n, \t, \\, octal, \x hex...).
func unescapeText(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHexDigit(s[j]) {
				j++
			}
			if j == i+1 {
				dst = append(dst, 'x')
				continue
			}
			v, _ := strconv.ParseUint(string(s[i+1:j]), 16, 8)
			dst = append(dst, byte(v))
			i = j - 1
		default:
			if c >= '0' && c <= '7' {
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(string(s[i:j]), 8, 8)
				dst = append(dst, byte(v))
				i = j - 1
				continue
			}
			dst = append(dst, c)
		}
	}
	return dst
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// csvField returns the reader's column of a CSV row, unquoted (valid
// until the next row), and whether a quote appeared in it. As in PostgreSQL, quotes may open and
// close anywhere in a field, and inside quotes the escape character
// escapes only a quote or another escape.
func (r *CopyRowReader) csvField(row []byte) ([]byte, bool, bool) {
	row = bytes.TrimRight(row, "\r\n")
	q, esc, delim := r.opts.Quote, r.opts.Escape, r.opts.Delimiter
	if r.key == nil {
		r.key = make([]byte, 0, 64)
	}
	i := 0
	for f := 0; ; f++ {
		// Never nil, even when empty: csvValue decides what is NULL.
		val := r.key[:0]
		quoted, inQuote := false, false
		for ; i < len(row); i++ {
			c := row[i]
			if !inQuote && c == delim {
				break
			}
			switch {
			case !inQuote && c == q:
				quoted, inQuote = true, true
			case inQuote && c == esc && i+1 < len(row) && (row[i+1] == esc || row[i+1] == q):
				// Tested before the closing quote: the escape is usually
				// the quote character itself.
				i++
				val = append(val, row[i])
			case inQuote && c == q:
				inQuote = false
			default:
				val = append(val, c)
			}
		}
		if f == r.col {
			r.key = val
			return val, quoted, true
		}
		if i >= len(row) {
			return nil, false, false
		}
		i++ // the delimiter
	}
}

// csvValue applies CSV's NULL rules to a field as PostgreSQL does: an
// unquoted null string is NULL, unless the column is FORCE_NOT_NULL, where
// it stays that string; in a FORCE_NULL column a quoted null string is
// NULL too.
func csvValue(raw []byte, quoted bool, o CopyOptions, col int) []byte {
	isNull := !quoted && string(raw) == o.Null
	switch {
	case isNull && forced(o.ForceNotNull, col):
		return append([]byte{}, o.Null...)
	case isNull:
		return nil
	case forced(o.ForceNull, col) && string(raw) == o.Null:
		return nil
	}
	return raw
}
