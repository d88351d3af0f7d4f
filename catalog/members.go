package catalog

import (
	"cmp"
	"fmt"
	"slices"
)

// Coordinator is a coordinator process that is a member of the catalog's
// Raft group.
type Coordinator struct {
	// ID is the coordinator's Raft server ID.
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	ClientAddr string `json:"client_addr"`
	// Incarnation changes every time the coordinator process starts, so
	// that work recorded by an earlier run can be told apart from work in
	// flight.
	Incarnation string `json:"incarnation"`
}

// SetCoordinator records a coordinator's addresses and incarnation; a
// coordinator applies it each time it starts.
type SetCoordinator Coordinator

// RemoveCoordinator forgets a coordinator that left the Raft group.
type RemoveCoordinator struct {
	ID string `json:"id"`
}

const (
	KindSetCoordinator    = "set_coordinator"
	KindRemoveCoordinator = "remove_coordinator"
)

func (SetCoordinator) Kind() string    { return KindSetCoordinator }
func (SetCoordinator) Version() int    { return 1 }
func (RemoveCoordinator) Kind() string { return KindRemoveCoordinator }
func (RemoveCoordinator) Version() int { return 1 }

func (c SetCoordinator) validate() error {
	switch {
	case c.ID == "":
		return invalidf("coordinator id is empty")
	case c.RaftAddr == "":
		return invalidf("coordinator %q: raft address is empty", c.ID)
	}
	return nil
}

func (c RemoveCoordinator) validate() error {
	if c.ID == "" {
		return invalidf("coordinator id is empty")
	}
	return nil
}

// Coordinators returns the registered coordinators, sorted by ID.
func (s *Snapshot) Coordinators() []Coordinator {
	return slices.Clone(s.coordinators)
}

// Coordinator returns the coordinator with the given ID.
func (s *Snapshot) Coordinator(id string) (Coordinator, bool) {
	i, ok := slices.BinarySearchFunc(s.coordinators, id, func(c Coordinator, id string) int { return cmp.Compare(c.ID, id) })
	if !ok {
		return Coordinator{}, false
	}
	return s.coordinators[i], true
}

func (s *Snapshot) setCoordinator(c SetCoordinator) error {
	s.coordinators = slices.Clone(s.coordinators)
	i, ok := slices.BinarySearchFunc(s.coordinators, c.ID, func(c Coordinator, id string) int { return cmp.Compare(c.ID, id) })
	if ok {
		s.coordinators[i] = Coordinator(c)
		return nil
	}
	s.coordinators = slices.Insert(s.coordinators, i, Coordinator(c))
	return nil
}

func (s *Snapshot) removeCoordinator(c RemoveCoordinator) error {
	i, ok := slices.BinarySearchFunc(s.coordinators, c.ID, func(c Coordinator, id string) int { return cmp.Compare(c.ID, id) })
	if !ok {
		return fmt.Errorf("coordinator %q: %w", c.ID, ErrNoSuchCoordinator)
	}
	s.coordinators = slices.Delete(slices.Clone(s.coordinators), i, i+1)
	return nil
}
