package executor

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestWriteCopyTextRow(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first []byte
		vals  [][]byte
		want  string
	}{
		{"plain", nil, [][]byte{[]byte("a"), []byte("12")}, "a\t12\n"},
		{"null and empty", nil, [][]byte{nil, []byte("")}, "\\N\t\n"},
		{"escapes", nil, [][]byte{[]byte("x\\y\tz\nw\rv")}, "x\\\\y\\tz\\nw\\rv\n"},
		{"shard first", []byte("3"), [][]byte{[]byte("k")}, "3\tk\n"},
	} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		n := writeCopyTextRow(w, tt.first, tt.vals)
		w.Flush()
		if b.String() != tt.want || n != int64(b.Len()) {
			t.Errorf("%s: wrote %q (%d bytes counted), want %q", tt.name, b.String(), n, tt.want)
		}
	}
}

func TestKeptRowsThenRest(t *testing.T) {
	in := &fakeInput{rows: rows("3", "4")}
	k := &keptRows{rows: rows("1", "2"), rest: &fakeRows{in: in, i: -1}}
	var got []string
	for k.Next() {
		got = append(got, string(k.Values()[0]))
	}
	if err := k.Err(); err != nil {
		t.Fatal(err)
	}
	k.Close()
	if want := "1 2 3 4"; strings.Join(got, " ") != want || !in.closed {
		t.Errorf("got %q (rest closed: %v), want %q", strings.Join(got, " "), in.closed, want)
	}
}
