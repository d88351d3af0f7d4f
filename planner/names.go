package planner

import (
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1.
const maxIdentLen = 63

// quoteIdent quotes an identifier for PostgreSQL.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a string literal (standard_conforming_strings on).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ShardTableName is the name of a shard's table on its data nodes (in the
// shard database, in the logical table's schema).
func ShardTableName(t *catalog.Table, s catalog.Shard) string {
	return t.Name + "_" + strconv.FormatInt(s.ID, 10)
}

// qualifiedShard is the quoted schema-qualified shard table name.
func qualifiedShard(t *catalog.Table, s catalog.Shard) string {
	return quoteIdent(t.Schema) + "." + quoteIdent(ShardTableName(t, s))
}

// qualifiedTable is the quoted schema-qualified logical table name.
func qualifiedTable(t *catalog.Table) string {
	return quoteIdent(t.Schema) + "." + quoteIdent(t.Name)
}
