package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

const (
	clusterSQL = "SELECT member, raft_address, client_address, voter, is_leader FROM distgres_cluster() ORDER BY member"
	movesSQL   = "SELECT id, shards, source, target, state, bytes_total, bytes_done FROM distgres_moves() ORDER BY id"
)

// status shows the coordinators, the data nodes and the moves in progress.
type status struct{}

func statusCommand(*flag.FlagSet) func([]string) (action, error) {
	return func([]string) (action, error) { return status{}, nil }
}

func (status) run(ctx context.Context, s *session) error {
	coordinators, err := s.db.query(ctx, clusterSQL)
	if err != nil {
		return fmt.Errorf("coordinators: %w", err)
	}
	nodes, err := s.db.query(ctx, nodeListSQL)
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	moves, err := s.db.query(ctx, movesSQL)
	if err != nil {
		return fmt.Errorf("moves: %w", err)
	}
	if s.json {
		return writeJSON(s.out, struct {
			Coordinators []record `json:"coordinators"`
			Nodes        []record `json:"nodes"`
			Moves        []record `json:"moves"`
		}{records(coordinators), records(nodes), records(moves)})
	}
	sections := []struct {
		title string
		res   *result
	}{
		{"Coordinators", coordinators},
		{"Nodes", nodes},
		{"Moves in progress", moves},
	}
	for i, sec := range sections {
		if i > 0 {
			io.WriteString(s.out, "\n")
		}
		io.WriteString(s.out, sec.title+"\n")
		if len(sec.res.rows) == 0 {
			io.WriteString(s.out, "none\n")
			continue
		}
		if err := writeTable(s.out, sec.res); err != nil {
			return err
		}
	}
	return nil
}
