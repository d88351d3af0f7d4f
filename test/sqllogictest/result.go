package sqllogictest

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Result is the formatted output of a query, in the order the record's sort
// mode gives.
type Result struct {
	Values []string
	// Hash is the lowercase hex md5 of all values, each followed by "\n".
	Hash string
	// Count is the number of values.
	Count int
}

// NewResult flattens rows (already formatted with FormatValue, row-major),
// applies the sort mode and computes the hash. RowSort sorts the rows,
// comparing column by column as byte strings; ValueSort sorts all values
// individually; NoSort keeps the order. rows is not modified.
func NewResult(rows [][]string, mode SortMode) Result {
	if mode == RowSort {
		rows = slices.Clone(rows)
		slices.SortStableFunc(rows, compareRows)
	}
	n := 0
	for _, row := range rows {
		n += len(row)
	}
	values := make([]string, 0, n)
	for _, row := range rows {
		values = append(values, row...)
	}
	if mode == ValueSort {
		slices.Sort(values)
	}
	return Result{Values: values, Hash: hashValues(values), Count: len(values)}
}

// compareRows orders rows column by column; a row that is a prefix of
// another comes first.
func compareRows(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// hashValues is the md5 of the values, each followed by "\n", as lowercase
// hex.
func hashValues(values []string) string {
	h := md5.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Matches reports whether the result is the record's expected output. When
// the record gives "N values hashing to H" the count and hash are compared;
// otherwise the values are compared one by one, however many there are
// (the hash threshold only decides how a file writes results down).
func (r Result) Matches(rec Record) bool {
	if rec.ExpectedHash != "" {
		return r.Count == rec.ExpectedCount && strings.EqualFold(r.Hash, rec.ExpectedHash)
	}
	return slices.Equal(r.Values, rec.Expected)
}

// Equal reports whether two results have the same values in the same order.
func (r Result) Equal(o Result) bool {
	return slices.Equal(r.Values, o.Values)
}

// resultShown is how many values String shows.
const resultShown = 10

// String shows the result compactly: its values separated by spaces (quoted
// when empty or when they contain spaces or quotes), at most 10 of them,
// then "... (N values hashing to H)" if there are more.
func (r Result) String() string {
	if len(r.Values) == 0 {
		return "(no values)"
	}
	var b strings.Builder
	for i, v := range r.Values {
		if i == resultShown {
			hash := r.Hash
			if hash == "" {
				hash = hashValues(r.Values)
			}
			fmt.Fprintf(&b, " ... (%d values hashing to %s)", len(r.Values), hash)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if v == "" || strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}
