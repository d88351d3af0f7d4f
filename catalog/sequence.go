package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Sequence is a global sequence: every coordinator draws its values from
// ranges handed out through the catalog log, so values are unique across
// the cluster and survive restarts (with gaps, as in PostgreSQL).
type Sequence struct {
	Schema    string `json:"schema"`
	Name      string `json:"name"`
	Increment int64  `json:"increment"`
	Min       int64  `json:"min"`
	Max       int64  `json:"max"`
	// Next is the first value not yet handed out.
	Next int64 `json:"next"`
	// OwnerTable and OwnerColumn name the column whose values it makes
	// (serial and identity columns, or a column defaulting to its
	// nextval); the coordinator fills that column in when an INSERT omits
	// it. Always is GENERATED ALWAYS AS IDENTITY.
	OwnerTable  string `json:"owner_table,omitempty"`
	OwnerColumn string `json:"owner_column,omitempty"`
	Always      bool   `json:"always,omitempty"`
}

// QualifiedName returns "schema.name".
func (q *Sequence) QualifiedName() string { return q.Schema + "." + q.Name }

// Sentinel errors of sequences.
var (
	ErrSequenceExists = errors.New("catalog: sequence already exists")
	ErrNoSuchSequence = errors.New("catalog: no such sequence")
	// ErrSequenceMoved is returned by AllocateSequence when the sequence
	// is no longer at From: another coordinator allocated first.
	ErrSequenceMoved = errors.New("catalog: sequence moved on; allocate again")
	// ErrSequenceExhausted is returned when a sequence has reached its
	// maximum (or minimum, counting down).
	ErrSequenceExhausted = errors.New("catalog: sequence exhausted")
)

// CreateSequence registers a global sequence starting at Start.
type CreateSequence struct {
	Schema      string `json:"schema"`
	Name        string `json:"name"`
	Start       int64  `json:"start"`
	Increment   int64  `json:"increment"`
	Min         int64  `json:"min"`
	Max         int64  `json:"max"`
	OwnerTable  string `json:"owner_table,omitempty"`
	OwnerColumn string `json:"owner_column,omitempty"`
	Always      bool   `json:"always,omitempty"`
}

// DropSequence removes a sequence.
type DropSequence struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// AllocateSequence hands out Count values starting at From, if the
// sequence is still at From (otherwise ErrSequenceMoved): a compare and
// set, so the proposer knows its range without reading the result.
type AllocateSequence struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	From   int64  `json:"from"`
	Count  int64  `json:"count"`
}

// SetSequence makes Next the next value handed out (setval).
type SetSequence struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Next   int64  `json:"next"`
}

const (
	KindCreateSequence   = "create_sequence"
	KindDropSequence     = "drop_sequence"
	KindAllocateSequence = "allocate_sequence"
	KindSetSequence      = "set_sequence"
)

func (CreateSequence) Kind() string   { return KindCreateSequence }
func (CreateSequence) Version() int   { return 1 }
func (DropSequence) Kind() string     { return KindDropSequence }
func (DropSequence) Version() int     { return 1 }
func (AllocateSequence) Kind() string { return KindAllocateSequence }
func (AllocateSequence) Version() int { return 1 }
func (SetSequence) Kind() string      { return KindSetSequence }
func (SetSequence) Version() int      { return 1 }

func (c CreateSequence) validate() error {
	switch {
	case c.Schema == "" || c.Name == "":
		return invalidf("sequence name is empty")
	case c.Increment == 0:
		return invalidf("sequence %s: increment must not be zero", c.Name)
	case c.Min > c.Max:
		return invalidf("sequence %s: minimum %d above maximum %d", c.Name, c.Min, c.Max)
	case c.Start < c.Min || c.Start > c.Max:
		return invalidf("sequence %s: start %d outside %d..%d", c.Name, c.Start, c.Min, c.Max)
	case (c.OwnerTable == "") != (c.OwnerColumn == ""):
		return invalidf("sequence %s: owner table and column go together", c.Name)
	}
	return nil
}

func (c DropSequence) validate() error {
	if c.Schema == "" || c.Name == "" {
		return invalidf("sequence name is empty")
	}
	return nil
}

func (c AllocateSequence) validate() error {
	if c.Schema == "" || c.Name == "" {
		return invalidf("sequence name is empty")
	}
	if c.Count < 1 {
		return invalidf("sequence %s: allocate %d values", c.Name, c.Count)
	}
	return nil
}

func (c SetSequence) validate() error {
	if c.Schema == "" || c.Name == "" {
		return invalidf("sequence name is empty")
	}
	return nil
}

// Sequences returns the global sequences, sorted by schema and name.
func (s *Snapshot) Sequences() []Sequence {
	return slices.Clone(s.seqs)
}

// HasSequences reports whether there is any global sequence (a cheap test
// on the query path).
func (s *Snapshot) HasSequences() bool { return len(s.seqs) > 0 }

// Sequence returns one global sequence.
func (s *Snapshot) Sequence(schema, name string) (Sequence, bool) {
	i, ok := s.seqIndex(schema, name)
	if !ok {
		return Sequence{}, false
	}
	return s.seqs[i], true
}

// ColumnSequences returns the sequences that fill in columns of a table.
func (s *Snapshot) ColumnSequences(schema, table string) []Sequence {
	var out []Sequence
	for _, q := range s.seqs {
		if q.Schema == schema && q.OwnerTable == table && q.OwnerColumn != "" {
			out = append(out, q)
		}
	}
	return out
}

func (s *Snapshot) seqIndex(schema, name string) (int, bool) {
	return slices.BinarySearchFunc(s.seqs, [2]string{schema, name}, func(q Sequence, key [2]string) int {
		return cmp.Or(cmp.Compare(q.Schema, key[0]), cmp.Compare(q.Name, key[1]))
	})
}

func (s *Snapshot) createSequence(c CreateSequence) error {
	i, ok := s.seqIndex(c.Schema, c.Name)
	if ok {
		return fmt.Errorf("sequence %s.%s: %w", c.Schema, c.Name, ErrSequenceExists)
	}
	q := Sequence{Schema: c.Schema, Name: c.Name, Increment: c.Increment, Min: c.Min, Max: c.Max, Next: c.Start,
		OwnerTable: c.OwnerTable, OwnerColumn: c.OwnerColumn, Always: c.Always}
	s.seqs = slices.Insert(slices.Clone(s.seqs), i, q)
	return nil
}

func (s *Snapshot) dropSequence(c DropSequence) error {
	i, ok := s.seqIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("sequence %s.%s: %w", c.Schema, c.Name, ErrNoSuchSequence)
	}
	s.seqs = slices.Delete(slices.Clone(s.seqs), i, i+1)
	return nil
}

func (s *Snapshot) allocateSequence(c AllocateSequence) error {
	i, ok := s.seqIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("sequence %s.%s: %w", c.Schema, c.Name, ErrNoSuchSequence)
	}
	q := s.seqs[i]
	if q.Next != c.From {
		return fmt.Errorf("sequence %s.%s is at %d, not %d: %w", c.Schema, c.Name, q.Next, c.From, ErrSequenceMoved)
	}
	n, err := q.Available(c.Count)
	if err != nil {
		return err
	}
	q.Next += n * q.Increment
	s.seqs = slices.Clone(s.seqs)
	s.seqs[i] = q
	return nil
}

// Available returns how many of want values the sequence can still hand
// out from Next (at least one), or ErrSequenceExhausted.
func (q *Sequence) Available(want int64) (int64, error) {
	var left int64
	if q.Increment > 0 {
		if q.Next > q.Max {
			return 0, fmt.Errorf("nextval: reached maximum value of sequence %q (%d): %w", q.Name, q.Max, ErrSequenceExhausted)
		}
		left = (q.Max-q.Next)/q.Increment + 1
	} else {
		if q.Next < q.Min {
			return 0, fmt.Errorf("nextval: reached minimum value of sequence %q (%d): %w", q.Name, q.Min, ErrSequenceExhausted)
		}
		left = (q.Next-q.Min)/(-q.Increment) + 1
	}
	if left <= 0 { // overflow of the subtraction: plenty left
		return want, nil
	}
	return min(want, left), nil
}

func (s *Snapshot) setSequence(c SetSequence) error {
	i, ok := s.seqIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("sequence %s.%s: %w", c.Schema, c.Name, ErrNoSuchSequence)
	}
	q := s.seqs[i]
	s.seqs = slices.Clone(s.seqs)
	q.Next = c.Next
	s.seqs[i] = q
	return nil
}

// Sequences owned by a table follow it: dropped with it, renamed with it.
func (s *Snapshot) dropOwnedSequences(schema, table string) {
	s.seqs = slices.DeleteFunc(slices.Clone(s.seqs), func(q Sequence) bool {
		return q.Schema == schema && q.OwnerTable == table
	})
}

func (s *Snapshot) renameSequenceOwner(schema, table, newTable, column, newColumn string) {
	s.seqs = slices.Clone(s.seqs)
	for i, q := range s.seqs {
		if q.Schema != schema || q.OwnerTable != table {
			continue
		}
		if newTable != "" {
			s.seqs[i].OwnerTable = newTable
		}
		if column != "" && q.OwnerColumn == column {
			s.seqs[i].OwnerColumn = newColumn
		}
	}
}
