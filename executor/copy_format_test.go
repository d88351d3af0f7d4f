package executor

import (
	"bytes"
	"testing"
)

func TestAppendCopyRow(t *testing.T) {
	csv := CopyOptions{Format: CopyCSV, Delimiter: ',', Quote: '"', Escape: '"', Null: ""}
	with := func(f func(*CopyOptions)) CopyOptions {
		o := csv
		f(&o)
		return o
	}
	tests := []struct {
		name string
		opts CopyOptions
		vals [][]byte
		want string
	}{
		{"csv", csv, [][]byte{[]byte("a"), nil, []byte(""), []byte(`x,"y"`)}, `a,,"","x,""y"""` + "\n"},
		{"force quote", with(func(o *CopyOptions) { o.ForceQuote = []bool{true, true, false} }), [][]byte{[]byte("a"), nil, []byte("b")}, `"a",,b` + "\n"},
		{"force quote with escape", with(func(o *CopyOptions) { o.Escape, o.ForceQuote = '!', []bool{true} }), [][]byte{[]byte(`a"b!c`)}, `"a!"b!!c"` + "\n"},
		{"end marker alone", csv, [][]byte{[]byte(`\.`)}, `"\."` + "\n"},
		{"end marker with another column", csv, [][]byte{[]byte(`\.`), []byte("1")}, `\.,1` + "\n"},
		{"null string", with(func(o *CopyOptions) { o.Null = "N" }), [][]byte{[]byte("N"), nil}, `"N",N` + "\n"},
		{"text", CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`}, [][]byte{[]byte("a\tb\\"), nil}, "a\\tb\\\\\t\\N\n"},
	}
	for _, tc := range tests {
		if got := string(AppendCopyRow(nil, tc.vals, tc.opts)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Header names are quoted only where they need it, as PostgreSQL does.
	o := with(func(o *CopyOptions) { o.ForceQuote = []bool{true, true} })
	if got := string(AppendCopyHeader(nil, []string{"id", "a,b"}, o)); got != "id,\"a,b\"\n" {
		t.Errorf("header %q", got)
	}
}

func TestAppendCopyBinaryRow(t *testing.T) {
	got := AppendCopyBinaryRow(nil, [][]byte{{0, 0, 0, 7}, nil, {}})
	want := []byte{0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("% x, want % x", got, want)
	}
}
