package main

import "strings"

// quoteLiteral quotes s as an SQL string literal. Admin function
// arguments must be constants in the SQL text, so every value distgresctl
// passes goes through here. A string with a backslash becomes an escape
// string (E'...') with the backslashes doubled, which reads the same whatever
// standard_conforming_strings is (as libpq's PQescapeLiteral does).
// Command-line arguments cannot hold NUL bytes, so s has none.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if strings.Contains(s, `\`) {
		return `E'` + strings.ReplaceAll(s, `\`, `\\`) + `'`
	}
	return "'" + s + "'"
}
