package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// writeTable prints a result as an aligned table with a header, in the
// style of psql's aligned format. Numbers are aligned right.
func writeTable(w io.Writer, res *result) error {
	n := len(res.columns)
	widths := make([]int, n)
	right := make([]bool, n)
	for j, c := range res.columns {
		widths[j] = utf8.RuneCountInString(c)
		right[j] = isNumericColumn(res, j)
	}
	cells := make([][]string, len(res.rows))
	for i, row := range res.rows {
		cells[i] = make([]string, n)
		for j := range n {
			cells[i][j] = formatCell(res.columns[j], row[j])
			widths[j] = max(widths[j], utf8.RuneCountInString(cells[i][j]))
		}
	}

	var b strings.Builder
	line := func(vals []string, alignRight []bool) {
		var l strings.Builder
		for j, v := range vals {
			if j > 0 {
				l.WriteString(" |")
			}
			l.WriteByte(' ')
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v))
			if alignRight[j] {
				l.WriteString(pad + v)
			} else {
				l.WriteString(v + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(res.columns, right)
	for j := range n {
		if j > 0 {
			b.WriteByte('+')
		}
		b.WriteString(strings.Repeat("-", widths[j]+2))
	}
	b.WriteByte('\n')
	for _, row := range cells {
		line(row, right)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// isNumericColumn reports whether column j holds sizes or only numbers
// (and NULLs).
func isNumericColumn(res *result, j int) bool {
	if isBytesColumn(res.columns[j]) {
		return true
	}
	numeric := false
	for _, row := range res.rows {
		switch row[j].(type) {
		case nil:
		case int16, int32, int64, int, float32, float64:
			numeric = true
		default:
			return false
		}
	}
	return numeric
}
