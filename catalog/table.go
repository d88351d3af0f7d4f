package catalog

import "slices"

// QualifiedName returns "schema.name".
func (t *Table) QualifiedName() string {
	return t.Schema + "." + t.Name
}

// IsReference reports whether t is a reference (replicated) table.
func (t *Table) IsReference() bool {
	return t.Method == MethodReplication
}

// clone returns a deep copy of t.
func (t *Table) clone() *Table {
	c := *t
	c.Shards = slices.Clone(t.Shards)
	for i := range c.Shards {
		c.Shards[i].Placements = slices.Clone(t.Shards[i].Placements)
	}
	return &c
}
