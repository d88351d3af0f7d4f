package main

import (
	"context"
	"flag"
	"fmt"
)

// rebalance shows the moves that would spread the shard groups evenly,
// then (without --dry-run) makes them.
type rebalance struct {
	strategy    string // shard-count or size
	maxParallel int    // moves at a time
	dryRun      bool
}

func rebalanceCommand(fs *flag.FlagSet) func([]string) (action, error) {
	r := &rebalance{}
	fs.StringVar(&r.strategy, "strategy", "shard-count", "what to even out: shard-count or size")
	fs.IntVar(&r.maxParallel, "max-parallel", 1, "moves to run at a time")
	fs.BoolVar(&r.dryRun, "dry-run", false, "only show the plan")
	return func([]string) (action, error) {
		if r.strategy != "shard-count" && r.strategy != "size" {
			return nil, fmt.Errorf("--strategy must be shard-count or size, not %q", r.strategy)
		}
		if r.maxParallel < 1 {
			return nil, fmt.Errorf("--max-parallel must be at least 1")
		}
		return *r, nil
	}
}

func (r rebalance) planSQL() string {
	return "SELECT move_order, shard_id, tables, source, target, bytes FROM distgres_rebalance_plan(" + quoteLiteral(r.strategy) + ") ORDER BY move_order"
}

func (r rebalance) runSQL() string {
	return fmt.Sprintf("SELECT distgres_rebalance(%s, %d)", quoteLiteral(r.strategy), r.maxParallel)
}

// run prints the plan and, unless it is a dry run or there is nothing to
// do, carries it out. In JSON a dry run prints the plan as an array, and
// a real run {"plan": [...], "result": moves}.
func (r rebalance) run(ctx context.Context, s *session) error {
	plan, err := s.db.query(ctx, r.planSQL())
	if err != nil {
		return fmt.Errorf("rebalance plan: %w", err)
	}
	if r.dryRun {
		if len(plan.rows) == 0 && !s.json {
			_, err := fmt.Fprintln(s.out, "cluster is balanced")
			return err
		}
		return s.printRows(plan)
	}
	if len(plan.rows) == 0 {
		if s.json {
			return writeJSON(s.out, map[string]any{"plan": records(plan), "result": 0})
		}
		_, err := fmt.Fprintln(s.out, "cluster is balanced")
		return err
	}
	if !s.json {
		if err := writeTable(s.out, plan); err != nil {
			return err
		}
	}
	expect := func(context.Context, querier) (estimate, error) { return planEstimate(plan), nil }
	res, err := s.queryWatched(ctx, r.runSQL(), expect)
	if err != nil {
		return fmt.Errorf("rebalance: %w", err)
	}
	moved, err := res.value()
	if err != nil {
		return fmt.Errorf("rebalance: %w", err)
	}
	if s.json {
		return writeJSON(s.out, map[string]any{"plan": records(plan), "result": moved})
	}
	_, err = fmt.Fprintln(s.out, countOr(func(n int64) string { return fmt.Sprintf("%d shard groups moved", n) })(moved))
	return err
}

// planEstimate is the work of a plan: one shard group per move, and the
// bytes of the moves when all are known.
func planEstimate(plan *result) estimate {
	e := estimate{groups: len(plan.rows)}
	for _, row := range plan.rows {
		n, ok := asInt64(row[len(row)-1]) // bytes, the last column
		if !ok {
			return estimate{groups: len(plan.rows)}
		}
		e.bytes += n
	}
	return e
}
