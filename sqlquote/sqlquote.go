// Package sqlquote quotes identifiers and string literals for the SQL that
// distgres generates and sends to PostgreSQL.
package sqlquote

import "strings"

// Ident quotes an identifier.
func Ident(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Literal quotes a string literal (standard_conforming_strings on, as on
// every data node).
func Literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
