package catalog

import (
	"cmp"
	"fmt"
	"strings"
)

// ColocationFamily returns the family of distribution column types whose
// values are placed alike and may therefore share a colocation group. It is
// the type OID itself, except that varchar belongs to text's family:
// PostgreSQL hashes both with hashtext.
func ColocationFamily(typeOID uint32) uint32 {
	if typeOID == OIDVarchar {
		return OIDText
	}
	return typeOID
}

// colocationSource returns the table a new hash or modulo table is
// colocated with (nil if it starts a new group) and the new table's shard
// count.
//
// Without ColocateWith, a table joins the group of the tables with the same
// method, shard count and colocation family, copying placements from the
// group's oldest table. With ColocateWith it joins the named table's group
// and copies that table's placements; the method, shard count (if given)
// and family must match.
func (s *Snapshot) colocationSource(c CreateTable) (*Table, int, error) {
	if c.ColocateWith != "" {
		return s.namedColocationSource(c)
	}
	count := cmp.Or(c.ShardCount, DefaultShardCount)
	var source *Table
	for _, t := range s.tables {
		if t.Method != c.Method || len(t.Shards) != count ||
			ColocationFamily(t.DistType) != ColocationFamily(c.DistType) {
			continue
		}
		if source == nil || t.Shards[0].ID < source.Shards[0].ID {
			source = t
		}
	}
	return source, count, nil
}

func (s *Snapshot) namedColocationSource(c CreateTable) (*Table, int, error) {
	schema, name, ok := strings.Cut(c.ColocateWith, ".")
	if !ok {
		schema, name = c.Schema, c.ColocateWith
	}
	target, ok := s.Table(schema, name)
	if !ok {
		return nil, 0, fmt.Errorf("colocate with %s.%s: %w", schema, name, ErrNoSuchTable)
	}
	count := cmp.Or(c.ShardCount, len(target.Shards))
	switch {
	case target.Method != c.Method:
		return nil, 0, invalidf("cannot colocate %s table %s.%s with %s table %s",
			c.Method, c.Schema, c.Name, target.Method, target.QualifiedName())
	case count != len(target.Shards):
		return nil, 0, invalidf("cannot colocate table %s.%s (%d shards) with %s (%d shards)",
			c.Schema, c.Name, count, target.QualifiedName(), len(target.Shards))
	case ColocationFamily(c.DistType) != ColocationFamily(target.DistType):
		return nil, 0, invalidf("cannot colocate table %s.%s (type %d) with %s (type %d)",
			c.Schema, c.Name, c.DistType, target.QualifiedName(), target.DistType)
	}
	return target, count, nil
}
