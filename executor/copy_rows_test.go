package executor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// readAll feeds input in pieces of size step and collects rows and keys.
func readAll(t *testing.T, r *CopyRowReader, input []byte, step int) (rows, keys []string, lines []int64, err error) {
	t.Helper()
	collect := func(last bool) error {
		for {
			next := r.Next
			if last {
				next = r.Last
			}
			row, key, line, ok, err := next()
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			rows = append(rows, string(row))
			if key == nil {
				keys = append(keys, "<null>")
			} else {
				keys = append(keys, string(key))
			}
			lines = append(lines, line)
		}
	}
	for i := 0; i < len(input); i += step {
		r.Feed(input[i:min(i+step, len(input))])
		if err := collect(false); err != nil {
			return rows, keys, lines, err
		}
	}
	return rows, keys, lines, collect(true)
}

func TestCopyRowReader(t *testing.T) {
	csv := CopyOptions{Format: CopyCSV, Delimiter: ',', Quote: '"', Escape: '"', Null: ""}
	text := CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`}
	tests := []struct {
		name      string
		opts      CopyOptions
		col       int
		input     string
		wantKeys  []string
		wantLines []int64
	}{
		{"text", text, 1, "1\ta\n2\t\\N\n3\tb\\tc\n", []string{"a", "<null>", "b\tc"}, []int64{1, 2, 3}},
		{"text without last newline", text, 0, "1\ta\n2\tb", []string{"1", "2"}, []int64{1, 2}},
		{"text end marker", text, 0, "1\ta\n\\.\n9\tz\n", []string{"1"}, []int64{1}},
		{"text escapes", text, 0, "a\\\\b\\x41\\101\tq\n", []string{"a\\bAA"}, []int64{1}},
		{"csv header and quotes", CopyOptions{Format: CopyCSV, Delimiter: ',', Quote: '"', Escape: '"', Null: "", Header: true},
			1, "k,v\n1,\"x, \"\"y\"\"\"\n2,\"multi\nline\"\n3,\n4,\"\"\n", []string{"x, \"y\"", "multi\nline", "<null>", ""}, []int64{2, 3, 5, 6}},
		{"csv column after a quoted one", csv, 1, "\"a,b\",7\n", []string{"7"}, []int64{1}},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 3, 1000} {
			t.Run(fmt.Sprintf("%s/step%d", tc.name, step), func(t *testing.T) {
				_, keys, lines, err := readAll(t, NewCopyRowReader(tc.opts, tc.col), []byte(tc.input), step)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(keys) != fmt.Sprint(tc.wantKeys) || fmt.Sprint(lines) != fmt.Sprint(tc.wantLines) {
					t.Fatalf("keys %q lines %v; want %q %v", keys, lines, tc.wantKeys, tc.wantLines)
				}
			})
		}
	}
}

func binaryCopy(tuples [][][]byte, trailer bool) []byte {
	var b bytes.Buffer
	b.Write(CopyBinaryHeader)
	for _, tu := range tuples {
		binary.Write(&b, binary.BigEndian, int16(len(tu)))
		for _, f := range tu {
			if f == nil {
				binary.Write(&b, binary.BigEndian, int32(-1))
				continue
			}
			binary.Write(&b, binary.BigEndian, int32(len(f)))
			b.Write(f)
		}
	}
	if trailer {
		b.Write(CopyBinaryTrailer)
	}
	return b.Bytes()
}

func TestCopyRowReaderBinary(t *testing.T) {
	in := binaryCopy([][][]byte{{{0, 0, 0, 1}, []byte("a")}, {nil, []byte("b")}, {{0, 0, 0, 3}, nil}}, true)
	for _, step := range []int{1, 5, 1000} {
		rows, keys, lines, err := readAll(t, NewCopyRowReader(CopyOptions{Format: CopyBinary}, 0), in, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(rows) != 3 || keys[0] != "\x00\x00\x00\x01" || keys[1] != "<null>" || fmt.Sprint(lines) != "[1 2 3]" {
			t.Fatalf("step %d: keys %q lines %v", step, keys, lines)
		}
	}
	// Without the trailer (pgx sends none), as PostgreSQL allows; a
	// truncated tuple is an error.
	rows, _, _, err := readAll(t, NewCopyRowReader(CopyOptions{Format: CopyBinary}, 0), binaryCopy([][][]byte{{[]byte("x")}}, false), 1000)
	if err != nil || len(rows) != 1 {
		t.Fatalf("binary data without a trailer: %d rows, %v", len(rows), err)
	}
	cut := binaryCopy([][][]byte{{[]byte("xyz")}}, false)
	if _, _, _, err := readAll(t, NewCopyRowReader(CopyOptions{Format: CopyBinary}, 0), cut[:len(cut)-1], 1000); err == nil {
		t.Fatal("a truncated tuple was accepted")
	}
}

func TestCopyRowReaderErrors(t *testing.T) {
	csv := CopyOptions{Format: CopyCSV, Delimiter: ',', Quote: '"', Escape: '"'}
	if _, _, _, err := readAll(t, NewCopyRowReader(csv, 0), []byte("\"open\n"), 100); err == nil {
		t.Error("unterminated quoted field accepted")
	}
	text := CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`}
	_, _, _, err := readAll(t, NewCopyRowReader(text, 2), []byte("1\t2\n"), 100)
	if re, ok := err.(*CopyRowError); !ok || re.Line != 1 || re.Column != 2 {
		t.Errorf("short row: %v", err)
	}
}

// TestCopyRowReaderCSVRules reads the key of CSV rows as PostgreSQL reads
// the field: quotes anywhere in it, the escape character only before a
// quote or escape, and the NULL rules of FORCE_NOT_NULL and FORCE_NULL.
func TestCopyRowReaderCSVRules(t *testing.T) {
	csv := CopyOptions{Format: CopyCSV, Delimiter: ',', Quote: '"', Escape: '"', Null: ""}
	with := func(f func(*CopyOptions)) CopyOptions {
		o := csv
		f(&o)
		return o
	}
	forced := []bool{false, true}
	tests := []struct {
		name  string
		opts  CopyOptions
		input string
		want  []string
	}{
		{"nulls", csv, "a,\nb,\"\"\n", []string{"<null>", ""}},
		{"quotes inside a field", csv, "1,a\"b,c\"d\n2,\"x\"\"y\"z\n", []string{"ab,cd", "x\"yz"}},
		{"escape before quote or escape only", with(func(o *CopyOptions) { o.Escape = '\\' }), "1,\"a\\\"b\\\\c\\d\"\n", []string{"a\"b\\c\\d"}},
		{"force not null", with(func(o *CopyOptions) { o.ForceNotNull = forced }), "1,\n2,\"\"\n3,x\n", []string{"", "", "x"}},
		{"force null", with(func(o *CopyOptions) { o.ForceNull = forced }), "1,\n2,\"\"\n3,x\n", []string{"<null>", "<null>", "x"}},
		{"force both", with(func(o *CopyOptions) { o.ForceNull, o.ForceNotNull = forced, forced }), "1,\n2,\"\"\n", []string{"", "<null>"}},
		{"force null with a null string", with(func(o *CopyOptions) { o.Null, o.ForceNull = "N", forced }), "1,N\n2,\"N\"\n3,\"\"\n", []string{"<null>", "<null>", ""}},
		{"force not null with a null string", with(func(o *CopyOptions) { o.Null, o.ForceNotNull = "N", forced }), "1,N\n2,\"N\"\n3,\n", []string{"N", "N", ""}},
		{"force on another column", with(func(o *CopyOptions) { o.ForceNotNull = []bool{true} }), "1,\n", []string{"<null>"}},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 1000} {
			t.Run(fmt.Sprintf("%s/step%d", tc.name, step), func(t *testing.T) {
				_, keys, _, err := readAll(t, NewCopyRowReader(tc.opts, 1), []byte(tc.input), step)
				if err != nil || fmt.Sprintf("%q", keys) != fmt.Sprintf("%q", tc.want) {
					t.Fatalf("keys %q (%v), want %q", keys, err, tc.want)
				}
			})
		}
	}
}

func TestCopyRowReaderLine(t *testing.T) {
	r := NewCopyRowReader(CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`, Header: true}, 0)
	readAll(t, r, []byte("h\n1\n2\n3"), 1000)
	if r.Line() != 4 {
		t.Errorf("Line() = %d after a header and three rows, want 4", r.Line())
	}
}
