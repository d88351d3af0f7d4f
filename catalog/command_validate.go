package catalog

import (
	"fmt"
	"slices"
)

// The validate methods check a command on its own; ApplyCommand checks it
// against the catalog.

func (c AddNode) validate() error {
	switch {
	case c.Name == "":
		return invalidf("node name is empty")
	case c.Host == "":
		return invalidf("node %q: host is empty", c.Name)
	case c.Port < 1 || c.Port > 65535:
		return invalidf("node %q: port %d out of range", c.Name, c.Port)
	}
	return nil
}

func (c RemoveNode) validate() error {
	if c.Name == "" {
		return invalidf("node name is empty")
	}
	return nil
}

func (c SetNodeState) validate() error {
	if c.Name == "" {
		return invalidf("node name is empty")
	}
	if c.State != NodeActive && c.State != NodeDraining && c.State != NodeJoining {
		return invalidf("node %q: unknown state %q", c.Name, c.State)
	}
	return nil
}

func (c CreateTable) validate() error {
	if err := validateTableName(c.Schema, c.Name); err != nil {
		return err
	}
	if c.ShardCount < 0 || c.ShardCount > MaxShardCount {
		return invalidf("table %s.%s: shard count %d not in 1..%d", c.Schema, c.Name, c.ShardCount, MaxShardCount)
	}
	switch c.Method {
	case MethodHash, MethodModulo:
		return c.validateDistribution()
	case MethodRoundRobin, MethodReplication:
		if c.DistColumn != "" || c.DistType != 0 {
			return invalidf("table %s.%s: %s tables have no distribution column", c.Schema, c.Name, c.Method)
		}
		if c.ColocateWith != "" {
			return invalidf("table %s.%s: %s tables cannot be colocated", c.Schema, c.Name, c.Method)
		}
		if c.Method == MethodReplication && c.ShardCount > 1 {
			return invalidf("table %s.%s: replicated tables have one shard", c.Schema, c.Name)
		}
		return nil
	}
	return invalidf("table %s.%s: unknown distribution method %q", c.Schema, c.Name, c.Method)
}

func (c CreateTable) validateDistribution() error {
	if c.DistColumn == "" {
		return invalidf("table %s.%s: %s distribution needs a distribution column", c.Schema, c.Name, c.Method)
	}
	if c.Method == MethodHash && !Hashable(c.DistType) {
		return invalidf("table %s.%s: distribution column type %d: %w", c.Schema, c.Name, c.DistType, ErrUnhashableType)
	}
	if c.Method == MethodModulo && !isIntegerType(c.DistType) {
		return invalidf("table %s.%s: modulo distribution needs an integer column, not type %d", c.Schema, c.Name, c.DistType)
	}
	return nil
}

func (c DropTable) validate() error {
	return validateTableName(c.Schema, c.Name)
}

func (c RenameTable) validate() error {
	if err := validateTableName(c.Schema, c.Name); err != nil {
		return err
	}
	if c.NewName == "" {
		return invalidf("table %s.%s: new name is empty", c.Schema, c.Name)
	}
	return nil
}

func (c RenameColumn) validate() error {
	if err := validateTableName(c.Schema, c.Table); err != nil {
		return err
	}
	if c.Column == "" || c.NewName == "" {
		return invalidf("table %s.%s: column name is empty", c.Schema, c.Table)
	}
	return nil
}

func (c SetPlacement) validate() error {
	if len(c.Nodes) == 0 {
		return invalidf("shard %d: no placement nodes", c.ShardID)
	}
	sorted := slices.Clone(c.Nodes)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(c.Nodes) {
		return invalidf("shard %d: duplicate placement nodes %v", c.ShardID, c.Nodes)
	}
	return nil
}

func validateTableName(schema, name string) error {
	if schema == "" || name == "" {
		return invalidf("table name %q.%q has an empty part", schema, name)
	}
	return nil
}

func isIntegerType(typeOID uint32) bool {
	return typeOID == OIDInt2 || typeOID == OIDInt4 || typeOID == OIDInt8
}

// invalidf returns an ErrInvalidCommand error with a formatted detail.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalidCommand, fmt.Errorf(format, args...))
}
