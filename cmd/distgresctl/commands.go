package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
)

// A command is one thing distgresctl does, selected by one or two words.
type command struct {
	name  string // the words that select it, e.g. "node add"
	args  string // its arguments and flags, for the usage text
	nargs int    // how many positional arguments it takes
	about string
	moves bool // it moves shards: on an interrupt the coordinator rolls back
	// setup defines the command's own flags on fs and returns the function
	// that builds the action from the positional arguments once fs has
	// been parsed. An error it returns is a usage error. nil for help.
	setup func(fs *flag.FlagSet) func(args []string) (action, error)
}

// An action is a parsed command, ready to run on a session.
type action interface {
	run(ctx context.Context, s *session) error
}

func commands() []command {
	return []command{
		{name: "node add", args: "NAME HOST:PORT", nargs: 2, about: "register a data node", setup: nodeAddCommand},
		{name: "node list", about: "list the data nodes", setup: nodeListCommand},
		{name: "node drain", args: "NAME", nargs: 1, about: "move every shard group off a node", moves: true, setup: nodeDrainCommand},
		{name: "node remove", args: "NAME", nargs: 1, about: "remove a drained node", setup: nodeRemoveCommand},
		{name: "node activate", args: "NAME", nargs: 1, about: "cancel a drain: the node takes shards again", setup: nodeActivateCommand},
		{name: "shard list", args: "[--table TABLE]", about: "list the shards", setup: shardListCommand},
		{name: "shard move", args: "SHARD --to NODE", nargs: 1, about: "move a shard and the shards colocated with it", moves: true, setup: shardMoveCommand},
		{name: "rebalance", args: "[--dry-run] [--strategy shard-count|size] [--max-parallel N]", about: "spread the shard groups evenly over the nodes", moves: true, setup: rebalanceCommand},
		{name: "status", about: "coordinators, nodes and moves in progress", setup: statusCommand},
		{name: "help", about: "print this text"},
	}
}

// lookup finds the command named by the first words of args and returns
// it with the remaining arguments.
func lookup(args []string) (*command, []string, error) {
	if len(args) == 0 {
		return nil, nil, fmt.Errorf("no command")
	}
	cmds := commands()
	group := false
	for i := range cmds {
		c := &cmds[i]
		first, second, two := strings.Cut(c.name, " ")
		if first != args[0] {
			continue
		}
		if !two {
			return c, args[1:], nil
		}
		group = true
		if len(args) > 1 && args[1] == second {
			return c, args[2:], nil
		}
	}
	switch {
	case group && len(args) == 1:
		return nil, nil, fmt.Errorf("%s: missing subcommand", args[0])
	case group:
		return nil, nil, fmt.Errorf("%s: unknown subcommand %q", args[0], args[1])
	}
	return nil, nil, fmt.Errorf("unknown command %q", args[0])
}

// usage is the short usage text of one command.
func (c *command) usage() string {
	return fmt.Sprintf("usage: distgresctl %s\nRun 'distgresctl help' for all commands and flags.\n", strings.TrimSpace(c.name+" "+c.args))
}
