package planner

import (
	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// shardConditions renders a COPY FROM's WHERE condition for the COPY of
// each shard of t, by shard ID. Unqualified columns mean the same on a
// shard, but the condition may also name the table, qualifying a column
// (t.k, public.t.k, db.public.t.k) or as a whole row (t, t.*): those
// names become the shard table's. unknown fails for a name that is no
// column of t (a column hides the whole row of the same name).
func shardConditions(cond *pg_query.Node, t *catalog.Table, unknown func(string) error) (map[int64]string, error) {
	isColumn := func(name string) (bool, error) {
		err := unknown(name)
		if pgerr.Code(err) == pgerr.UndefinedColumn {
			return false, nil
		}
		return err == nil, err
	}
	out := make(map[int64]string, len(t.Shards))
	if len(t.Shards) == 0 {
		return out, nil
	}
	c := clone(cond)
	named, err := renameTable(c, t, ShardTableName(t, t.Shards[0]), isColumn)
	if err != nil {
		return nil, err
	}
	if !named {
		sql, err := deparseWhere(c)
		if err != nil {
			return nil, err
		}
		for _, sh := range t.Shards {
			out[sh.ID] = sql
		}
		return out, nil
	}
	for _, sh := range t.Shards {
		c := clone(cond)
		if _, err := renameTable(c, t, ShardTableName(t, sh), isColumn); err != nil {
			return nil, err
		}
		sql, err := deparseWhere(c)
		if err != nil {
			return nil, err
		}
		out[sh.ID] = sql
	}
	return out, nil
}

// renameTable points the condition's references to table t at the shard
// table named shard (in t's schema), and reports whether there were any.
func renameTable(cond *pg_query.Node, t *catalog.Table, shard string, isColumn func(string) (bool, error)) (bool, error) {
	var named bool
	var err error
	walk(cond, func(m proto.Message) bool {
		ref, ok := m.(*pg_query.ColumnRef)
		if !ok || err != nil {
			return err == nil
		}
		drop, at, found := tableInRef(ref.Fields, t)
		if found && len(ref.Fields) == 1 {
			// A lone name is a column when the table has one of that name.
			var col bool
			if col, err = isColumn(t.Name); err != nil || col {
				return false
			}
		}
		if found {
			ref.Fields[at] = pg_query.MakeStrNode(shard)
			ref.Fields = ref.Fields[drop:]
			named = true
		}
		return false
	})
	return named, err
}

// tableInRef finds the table in a column reference's names as PostgreSQL
// resolves them with only the table in scope: db.schema.table.column,
// schema.table.column[.field], table.column[.field...], or the table
// alone. It returns how many leading names to drop (the database: shards
// are in another) and where the table's name is.
func tableInRef(fields []*pg_query.Node, t *catalog.Table) (drop, at int, found bool) {
	name := func(i int) string {
		if i >= len(fields) {
			return ""
		}
		return fields[i].GetString_().GetSval()
	}
	switch n := len(fields); {
	case n == 4 && name(1) == t.Schema && name(2) == t.Name:
		return 1, 2, true
	case n >= 3 && name(0) == t.Schema && name(1) == t.Name:
		return 0, 1, true
	case name(0) == t.Name:
		return 0, 0, true
	}
	return 0, 0, false
}
