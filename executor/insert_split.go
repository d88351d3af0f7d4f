package executor

import (
	"context"
	"fmt"
	"strings"

	"github.com/distgres/distgres/catalog"
)

// InsertRow is one row of a multi-row INSERT ... VALUES: its text and how
// to find its shard.
type InsertRow struct {
	Text    string
	Chooser ShardChooser
}

// InsertSplit splits a multi-row INSERT by shard at execution time: each
// shard gets the statement with only its rows, and each node runs its
// shards' statements as one implicit transaction.
type InsertSplit struct {
	// Prefix and Suffix, indexed by shard, surround the VALUES rows.
	Prefix, Suffix []string
	Nodes          []catalog.Node // per shard
	Database       string
	Rows           []InsertRow
	Cols           []Column
}

var _ Operator = (*InsertSplit)(nil)

func (s *InsertSplit) Columns() []Column { return s.Cols }

func (s *InsertSplit) Explain() Description {
	return Description{Operator: "Insert Split", Detail: []string{fmt.Sprintf("rows: %d, shards: %d", len(s.Rows), len(s.Prefix))}}
}

func (s *InsertSplit) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	byShard := make(map[int][]string)
	var shards []int
	for _, r := range s.Rows {
		i, err := r.Chooser.Choose(params)
		if err != nil {
			return nil, err
		}
		if byShard[i] == nil {
			shards = append(shards, i)
		}
		byShard[i] = append(byShard[i], r.Text)
	}
	byNode := map[catalog.NodeID]int{}
	var targets []Target
	for _, i := range shards {
		sql := s.Prefix[i] + strings.Join(byShard[i], ", ") + s.Suffix[i]
		n := s.Nodes[i]
		j, ok := byNode[n.ID]
		if !ok {
			j = len(targets)
			byNode[n.ID] = j
			targets = append(targets, Target{Node: n, Database: s.Database})
		}
		targets[j].SQL = append(targets[j].SQL, sql)
	}
	g := &Gather{Targets: targets, Cols: s.Cols, Verb: "INSERT"}
	return g.Open(ctx, rt, params)
}

// FixedShard is a ShardChooser for a row whose shard is known at plan time.
type FixedShard int

func (f FixedShard) Choose(Params) (int, error) { return int(f), nil }
func (f FixedShard) String() string             { return fmt.Sprintf("shard index %d", int(f)) }
