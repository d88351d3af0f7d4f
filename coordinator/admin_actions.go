package coordinator

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/shardmove"
)

func actionNodeAdd(ctx context.Context, ss *session, args []string) (string, error) {
	port, err := strconv.Atoi(args[2])
	if err != nil || port < 1 || port > 65535 {
		return "", pgerr.New(pgerr.InvalidParameterValue, "invalid port %q", args[2])
	}
	if args[0] == "" || args[1] == "" {
		return "", pgerr.New(pgerr.InvalidParameterValue, "node name and host must not be empty")
	}
	if err := ss.srv.cfg.Mover.AddNode(ctx, args[0], args[1], port); err != nil {
		return "", err
	}
	return fmt.Sprintf("data node %s added at %s", args[0], net.JoinHostPort(args[1], args[2])), nil
}

// strategyArgs reads the optional strategy and parallelism arguments.
func strategyArgs(args []string) (shardmove.Strategy, int, error) {
	var s string
	if len(args) > 0 {
		s = args[0]
	}
	strategy, err := shardmove.ParseStrategy(s)
	if err != nil {
		return "", 0, pgerr.New(pgerr.InvalidParameterValue, "%s", err.Error())
	}
	parallel := 1
	if len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return "", 0, pgerr.New(pgerr.InvalidParameterValue, "max parallel moves must be a positive integer, not %q", args[1])
		}
		parallel = n
	}
	return strategy, parallel, nil
}

func actionNodeDrain(ctx context.Context, ss *session, args []string) (string, error) {
	strategy, parallel, err := strategyArgs(args[1:])
	if err != nil {
		return "", err
	}
	n, err := ss.srv.cfg.Mover.Drain(ctx, args[0], strategy, parallel)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("moved %d shard groups off data node %s", n, args[0]), nil
}

func actionNodeRemove(ctx context.Context, ss *session, args []string) (string, error) {
	if err := ss.srv.cfg.Mover.Remove(ctx, args[0]); err != nil {
		return "", err
	}
	return "data node " + args[0] + " removed", nil
}

func actionNodeActivate(ctx context.Context, ss *session, args []string) (string, error) {
	if err := ss.srv.cfg.Mover.Activate(ctx, args[0]); err != nil {
		return "", err
	}
	return "data node " + args[0] + " is active", nil
}

func actionMoveShard(ctx context.Context, ss *session, args []string) (string, error) {
	id, err := intArg("shard id", args[0])
	if err != nil {
		return "", err
	}
	if err := ss.srv.cfg.Mover.MoveShard(ctx, id, args[1]); err != nil {
		return "", err
	}
	return fmt.Sprintf("moved the shard group of shard %d to data node %s", id, args[1]), nil
}

func actionRebalance(ctx context.Context, ss *session, args []string) (string, error) {
	strategy, parallel, err := strategyArgs(args)
	if err != nil {
		return "", err
	}
	n, err := ss.srv.cfg.Mover.Rebalance(ctx, strategy, parallel)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("moved %d shard groups", n), nil
}
