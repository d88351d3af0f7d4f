package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
)

const shardListSQL = "SELECT shard_id, table_name, shard_index, colocation_id, min_hash, max_hash, nodes, bytes FROM distgres_shards()"

func shardListCommand(fs *flag.FlagSet) func([]string) (action, error) {
	table := fs.String("table", "", "only the shards of this table (schema-qualified, as in the table_name column)")
	return func([]string) (action, error) {
		sql := shardListSQL
		if *table != "" {
			sql += " WHERE table_name = " + quoteLiteral(*table)
		}
		return list{sql: sql + " ORDER BY table_name, shard_index"}, nil
	}
}

func shardMoveCommand(fs *flag.FlagSet) func([]string) (action, error) {
	to := fs.String("to", "", "the node to move the shard to")
	return func(args []string) (action, error) {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("shard id %q is not a number", args[0])
		}
		if *to == "" {
			return nil, fmt.Errorf("missing --to NODE")
		}
		return call{
			sql: fmt.Sprintf("SELECT distgres_move_shard(%d, %s)", id, quoteLiteral(*to)),
			expect: func(context.Context, querier) (estimate, error) {
				return estimate{groups: 1}, nil
			},
		}, nil
	}
}
