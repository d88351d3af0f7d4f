package main

import (
	"bytes"
	"encoding/json"
	"io"
)

// record is one row as a JSON object whose keys keep the column order.
type record struct {
	columns []string
	values  []any
}

func (r record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range r.columns {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(r.values[i])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// records returns the rows of res as JSON objects (an empty, not nil,
// slice when there are none, so that it encodes as []).
func records(res *result) []record {
	out := make([]record, 0, len(res.rows))
	for _, row := range res.rows {
		out = append(out, record{columns: res.columns, values: row})
	}
	return out
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
