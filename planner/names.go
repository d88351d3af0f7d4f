package planner

import (
	"github.com/distgres/distgres/sqlquote"
	"strconv"

	"github.com/distgres/distgres/catalog"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1.
const maxIdentLen = 63

// ShardTableName is the name of a shard's table on its data nodes (in the
// shard database, in the logical table's schema).
func ShardTableName(t *catalog.Table, s catalog.Shard) string {
	return t.Name + "_" + strconv.FormatInt(s.ID, 10)
}

// qualifiedShard is the quoted schema-qualified shard table name.
func qualifiedShard(t *catalog.Table, s catalog.Shard) string {
	return sqlquote.Ident(t.Schema) + "." + sqlquote.Ident(ShardTableName(t, s))
}

// qualifiedTable is the quoted schema-qualified logical table name.
func qualifiedTable(t *catalog.Table) string {
	return sqlquote.Ident(t.Schema) + "." + sqlquote.Ident(t.Name)
}
