package executor

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/distgres/distgres/pgerr"
)

// Combining the partials of string_agg, array_agg, json_agg and jsonb_agg:
// aggregates that list their inputs. Each node sends its part of a group's
// list; the coordinator merges the parts (by the ORDER BY keys of the
// call, or in input order) and prints the final value as PostgreSQL does.

const oidBytea = 17

// ListAgg says how the partials of a list aggregate (AggStringAgg,
// AggArrayAgg, AggJSONAgg, AggJSONBAgg) arrive.
type ListAgg struct {
	// Elements: the partials are arrays (in PostgreSQL's text form) of one
	// node's elements in order: at Agg.Col the values (string_agg's cast
	// to text or bytea, array_agg's as they are, json_agg's and
	// jsonb_agg's converted by to_json and to_jsonb), then string_agg's
	// delimiters when DelimCol is set, then one array per key.
	// Otherwise the partial at Agg.Col is the aggregate's own result, and
	// the results concatenate in input order.
	Elements bool
	// Keys order the elements; a key's Col is its position in Keys.
	Keys []SortKey
	// ValueKeys marks the keys that are the value itself (string_agg's
	// text, array_agg's element): their arrays are not sent.
	ValueKeys []bool
	// DelimCol: string_agg's delimiters come as an array. Otherwise Delim
	// is its constant delimiter, nil for NULL.
	DelimCol bool
	Delim    []byte
	// ArrayDelim separates array_agg's elements: the element type's
	// delimiter (';' for box, ',' for the others).
	ArrayDelim byte
	// JSONNewline: json_agg's values are not json or jsonb, so a value
	// that prints as a JSON object or array (one of a composite or array
	// type) is put on a new line, as json_agg_transfn does, except the
	// first.
	JSONNewline bool
}

// listItem is one element of a list aggregate.
type listItem struct {
	// val is the value: nil for NULL; for array_agg the element as
	// printed in the array; for string_agg of bytea the bytes.
	val []byte
	// delim is string_agg's delimiter given with the value (nil for
	// NULL).
	delim []byte
	keys  [][]byte
}

// listState is a group's list so far.
type listState struct {
	items []listItem
	// array_agg of arrays: the shape of the stacked arrays and their
	// inner bounds decoration, from the first partial.
	shape     string
	haveShape bool
	inner     []byte
	// escapeBytea: the nodes print bytea in the escape format
	// (bytea_output), which the result keeps.
	escapeBytea bool
}

// accumulateList adds one input row's partials to the group's list.
func accumulateList(s *aggState, ag Agg, vals [][]byte) error {
	if s.list == nil {
		s.list = &listState{}
	}
	if !ag.List.Elements {
		return s.list.addResult(ag, vals[ag.Col])
	}
	items, err := s.list.elements(ag, vals)
	if err != nil {
		return fmt.Errorf("executor: %s partials: %w", ag.Kind, err)
	}
	s.list.items = mergeItems(s.list.items, items, ag.List.Keys)
	return nil
}

// addResult appends a node's own result of string_agg (with a constant
// delimiter), json_agg or jsonb_agg as one item: the inside of a JSON
// array, whose first element decides json_agg's separator as an element
// would.
func (l *listState) addResult(ag Agg, v []byte) error {
	if v == nil {
		return nil
	}
	if ag.Kind == AggStringAgg {
		l.items = append(l.items, listItem{val: cloneBytes(v), delim: ag.List.Delim})
		return nil
	}
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return fmt.Errorf("executor: bad partial %s %q", ag.Kind, v)
	}
	l.items = append(l.items, listItem{val: cloneBytes(v[1 : len(v)-1])})
	return nil
}

// elements reads one row's partial arrays into items, in the node's
// order.
func (l *listState) elements(ag Agg, vals [][]byte) ([]listItem, error) {
	v := vals[ag.Col]
	if v == nil {
		// The node had no rows for the group (or none passed FILTER).
		return nil, nil
	}
	items, err := l.values(ag, v)
	if err != nil {
		return nil, err
	}
	next := ag.Col + 1
	if ag.Kind == AggStringAgg {
		if err := l.delimiters(ag, items, vals[next]); err != nil {
			return nil, err
		}
		if ag.List.DelimCol {
			next++
		}
	}
	for i := range ag.List.Keys {
		if i < len(ag.List.ValueKeys) && ag.List.ValueKeys[i] {
			for j := range items {
				items[j].keys = append(items[j].keys, valueKey(ag, items[j].val))
			}
			continue
		}
		keys, err := arrayValues(vals[next], len(items))
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		next++
		for j := range items {
			items[j].keys = append(items[j].keys, keys[j])
		}
	}
	return items, nil
}

// valueKey is the key that is an item's value: array_agg's elements are
// kept as printed.
func valueKey(ag Agg, v []byte) []byte {
	if ag.Kind == AggArrayAgg && v != nil {
		return elementValue(v)
	}
	return v
}

// values reads the array of values.
func (l *listState) values(ag Agg, v []byte) ([]listItem, error) {
	if ag.Kind == AggArrayAgg {
		return l.arrayElements(ag, v)
	}
	vs, err := arrayValues(v, -1)
	if err != nil {
		return nil, err
	}
	items := make([]listItem, len(vs))
	for i, x := range vs {
		if ag.Type == oidBytea && x != nil {
			if x, err = l.decodeBytea(x); err != nil {
				return nil, err
			}
		}
		items[i].val = x
	}
	return items, nil
}

// arrayElements reads array_agg's values: the elements as printed, which
// the result prints alike. Arrays of arrays must all have the shape of
// the first, as PostgreSQL requires of the arrays it accumulates.
func (l *listState) arrayElements(ag Agg, v []byte) ([]listItem, error) {
	a, err := parseArrayText(v, ag.List.ArrayDelim)
	if err != nil {
		return nil, err
	}
	shape, err := arrayShape(a, ag.List.ArrayDelim)
	if err != nil {
		return nil, err
	}
	if !l.haveShape {
		l.shape, l.inner, l.haveShape = shape, cloneBytes(a.inner), true
	} else if shape != l.shape {
		return nil, pgerr.New("2202E", "cannot accumulate arrays of different dimensionality")
	}
	items := make([]listItem, len(a.elems))
	for i, e := range a.elems {
		items[i].val = cloneBytes(e)
	}
	return items, nil
}

// delimiters sets string_agg's delimiter of each item: the constant, or
// the node's array of them (d).
func (l *listState) delimiters(ag Agg, items []listItem, d []byte) error {
	if !ag.List.DelimCol {
		for i := range items {
			items[i].delim = ag.List.Delim
		}
		return nil
	}
	ds, err := arrayValues(d, len(items))
	if err != nil {
		return fmt.Errorf("delimiters: %w", err)
	}
	for i, x := range ds {
		if ag.Type == oidBytea && x != nil {
			if x, err = l.decodeBytea(x); err != nil {
				return err
			}
		}
		items[i].delim = x
	}
	return nil
}

// arrayValues returns the element values of a one-dimensional array
// (nil for NULL elements), checking that there are n of them (unless n
// is negative).
func arrayValues(v []byte, n int) ([][]byte, error) {
	if v == nil {
		return nil, fmt.Errorf("NULL array among non-NULL ones")
	}
	a, err := parseArrayText(v, ',')
	if err != nil {
		return nil, fmt.Errorf("%q: %w", v, err)
	}
	if n >= 0 && len(a.elems) != n {
		return nil, fmt.Errorf("%d elements, want %d", len(a.elems), n)
	}
	out := make([][]byte, len(a.elems))
	for i, e := range a.elems {
		out[i] = elementValue(e)
	}
	return out, nil
}

// mergeItems merges two lists each ordered by keys; on equal keys the
// earlier list's items come first, so the result does not depend on
// anything but the input order. Without keys the lists concatenate.
func mergeItems(a, b []listItem, keys []SortKey) []listItem {
	if len(keys) == 0 || len(a) == 0 {
		return append(a, b...)
	}
	out := make([]listItem, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareRows(keys, b[0].keys, a[0].keys) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// finishList prints the final value; NULL for an empty list.
func finishList(s *aggState, ag Agg) ([]byte, error) {
	if s.list == nil || len(s.list.items) == 0 {
		return nil, nil
	}
	items := s.list.items
	switch ag.Kind {
	case AggStringAgg:
		return s.list.finishString(ag), nil
	case AggArrayAgg:
		elems := make([][]byte, len(items))
		for i, it := range items {
			elems[i] = it.val
		}
		return writeArrayText(s.list.inner, elems, ag.List.ArrayDelim), nil
	case AggJSONAgg, AggJSONBAgg:
		return finishJSON(items, ag.Kind == AggJSONAgg && ag.List.JSONNewline), nil
	}
	return nil, fmt.Errorf("executor: %s is not a list aggregate", ag.Kind)
}

// finishString joins string_agg's non-NULL values as string_agg_transfn
// does: each but the first preceded by its own delimiter, if not NULL.
func (l *listState) finishString(ag Agg) []byte {
	out := []byte{}
	first := true
	for _, it := range l.items {
		if it.val == nil {
			continue
		}
		if !first {
			out = append(out, it.delim...)
		}
		out = append(out, it.val...)
		first = false
	}
	switch {
	case first:
		return nil
	case ag.Type == oidBytea:
		return encodeBytea(out, l.escapeBytea)
	}
	return out
}

// finishJSON prints a JSON array of the items as json_agg and jsonb
// output print it: elements separated by ", ", NULL as null, and with
// newline a "\n " before each object or array but the first.
func finishJSON(items []listItem, newline bool) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
			if newline && len(it.val) > 0 && (it.val[0] == '{' || it.val[0] == '[') {
				b.WriteString("\n ")
			}
		}
		if it.val == nil {
			b.WriteString("null")
		} else {
			b.Write(it.val)
		}
	}
	b.WriteByte(']')
	return b.Bytes()
}

// decodeBytea reads bytea's text form, hex ("\x0a0b") or escape, and
// notes the format.
func (l *listState) decodeBytea(t []byte) ([]byte, error) {
	if bytes.HasPrefix(t, []byte(`\x`)) {
		out := make([]byte, hex.DecodedLen(len(t)-2))
		if _, err := hex.Decode(out, t[2:]); err != nil {
			return nil, fmt.Errorf("bad bytea %q: %w", t, err)
		}
		return out, nil
	}
	l.escapeBytea = true
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		switch {
		case i+1 < len(t) && t[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(t) && isOctal(t[i+1]) && isOctal(t[i+2]) && isOctal(t[i+3]):
			out = append(out, (t[i+1]-'0')<<6|(t[i+2]-'0')<<3|(t[i+3]-'0'))
			i += 3
		default:
			return nil, fmt.Errorf("bad bytea %q", t)
		}
	}
	return out, nil
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// encodeBytea prints bytes as byteaout does: hex, or in the escape format
// printable ASCII as is, backslash doubled and other bytes in octal.
func encodeBytea(b []byte, escape bool) []byte {
	if !escape {
		out := make([]byte, 2+hex.EncodedLen(len(b)))
		copy(out, `\x`)
		hex.Encode(out[2:], b)
		return out
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c == '\\':
			out = append(out, '\\', '\\')
		case c < 0x20 || c > 0x7e:
			out = append(out, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		default:
			out = append(out, c)
		}
	}
	return out
}
