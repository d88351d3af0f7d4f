package main

import (
	"fmt"
	"strconv"
	"strings"
)

// formatValue formats a value for people: NULL is empty and booleans are
// t and f, as psql shows them.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "t"
		}
		return "f"
	}
	return fmt.Sprint(v)
}

// formatCell formats a value of the named column: sizes (columns named
// bytes or bytes_*) are shown as formatBytes does.
func formatCell(column string, v any) string {
	if isBytesColumn(column) {
		if n, ok := asInt64(v); ok {
			return formatBytes(n)
		}
	}
	return formatValue(v)
}

func isBytesColumn(name string) bool {
	return name == "bytes" || strings.HasPrefix(name, "bytes_")
}

// formatBytes formats a size in bytes with a binary unit: "512 B",
// "4.2 MB", "12 MB" (PostgreSQL's pg_size_pretty units).
func formatBytes(n int64) string {
	if n > -1024 && n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	f := float64(n) / 1024
	i := 0
	for (f >= 1024 || f <= -1024) && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f > -9.95 && f < 9.95 {
		return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " " + units[i]
}
