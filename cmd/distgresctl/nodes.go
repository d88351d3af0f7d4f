package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
)

const nodeListSQL = "SELECT name, host, port, state, shards, bytes, reachable FROM distgres_nodes() ORDER BY name"

// nodeShardsSQL lists every shard with its nodes, to count what a drain
// will move.
const nodeShardsSQL = "SELECT colocation_id, shard_index, nodes, bytes FROM distgres_shards()"

func nodeAddCommand(*flag.FlagSet) func([]string) (action, error) {
	return func(args []string) (action, error) {
		host, port, err := parseHostPort(args[1])
		if err != nil {
			return nil, err
		}
		sql := fmt.Sprintf("SELECT distgres_node_add(%s, %s, %d)", quoteLiteral(args[0]), quoteLiteral(host), port)
		return call{sql: sql}, nil
	}
}

func nodeListCommand(*flag.FlagSet) func([]string) (action, error) {
	return func([]string) (action, error) {
		return list{sql: nodeListSQL}, nil
	}
}

func nodeDrainCommand(*flag.FlagSet) func([]string) (action, error) {
	return func(args []string) (action, error) {
		name := args[0]
		return call{
			sql: "SELECT distgres_node_drain(" + quoteLiteral(name) + ")",
			human: countOr(func(n int64) string {
				return fmt.Sprintf("node %s drained: %d shard groups moved", name, n)
			}),
			expect: func(ctx context.Context, q querier) (estimate, error) { return drainEstimate(ctx, q, name) },
		}, nil
	}
}

func nodeRemoveCommand(*flag.FlagSet) func([]string) (action, error) {
	return func(args []string) (action, error) {
		return call{sql: "SELECT distgres_node_remove(" + quoteLiteral(args[0]) + ")"}, nil
	}
}

func nodeActivateCommand(*flag.FlagSet) func([]string) (action, error) {
	return func(args []string) (action, error) {
		return call{sql: "SELECT distgres_node_activate(" + quoteLiteral(args[0]) + ")"}, nil
	}
}

// parseHostPort splits HOST:PORT ([HOST]:PORT for IPv6).
func parseHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT, got %q", s)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q in %q", p, s)
	}
	if host == "" {
		return "", 0, fmt.Errorf("missing host in %q", s)
	}
	return host, port, nil
}

// drainEstimate counts the shard groups (shards with the same colocation
// group and index) that have a placement on node, and their size when
// every shard's size is known.
func drainEstimate(ctx context.Context, q querier, node string) (estimate, error) {
	res, err := q.query(ctx, nodeShardsSQL)
	if err != nil {
		return estimate{}, err
	}
	type group struct{ colocation, index int64 }
	groups := map[group]bool{}
	var bytes int64
	sized := true
	for _, row := range res.rows {
		if len(row) != 4 || !onNode(formatValue(row[2]), node) {
			continue
		}
		colocation, _ := asInt64(row[0])
		index, _ := asInt64(row[1])
		groups[group{colocation, index}] = true
		if n, ok := asInt64(row[3]); ok {
			bytes += n
		} else {
			sized = false
		}
	}
	e := estimate{groups: len(groups)}
	if sized {
		e.bytes = bytes
	}
	return e, nil
}

// onNode reports whether node is in nodes, a comma-separated list.
func onNode(nodes, node string) bool {
	for n := range strings.SplitSeq(nodes, ",") {
		if strings.TrimSpace(n) == node {
			return true
		}
	}
	return false
}
