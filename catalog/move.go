package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// MoveState is the state of a shard move in the catalog.
type MoveState string

const (
	// MoveCopying: the target is being filled and kept up to date by
	// logical replication; the source placement is authoritative.
	MoveCopying MoveState = "copying"
	// MoveFrozen: the cut-over. Coordinators hold back writes to the
	// moving shard group; the source is still authoritative.
	MoveFrozen MoveState = "frozen"
	// MoveSwitched: the placement names the target; the source copies are
	// left to drop.
	MoveSwitched MoveState = "switched"
	// MoveAborted: the move failed or was given up; the source stays, the
	// target copies are left to drop.
	MoveAborted MoveState = "aborted"
)

// Move is a shard group being moved (or, with Copy, replicated) from one
// node to another. The record lives from before anything is created on the
// nodes until everything left over is cleaned up, so that a coordinator
// that dies mid-move leaves enough behind for another to finish the job.
type Move struct {
	// ID is a lowercase hex string, unique in the cluster; the
	// publication, subscription and replication slot are named after it.
	ID          string `json:"id"`
	Coordinator string `json:"coordinator"`
	Incarnation string `json:"incarnation"`
	// StartedMillis is the proposer's wall clock (Unix milliseconds).
	StartedMillis int64 `json:"started_millis"`
	// Shards are the shard IDs of the group, one per colocated table.
	Shards []int64 `json:"shards"`
	// Colocation is the colocation group of the shards; writes to its
	// tables wait while the move is frozen.
	Colocation uint32 `json:"colocation"`
	Source     NodeID `json:"source"`
	Target     NodeID `json:"target"`
	// Copy adds Target as a placement instead of replacing Source (a new
	// node's copy of a reference table).
	Copy  bool      `json:"copy,omitempty"`
	State MoveState `json:"state"`
}

// Sentinel errors of moves.
var (
	ErrMoveExists = errors.New("catalog: a move of this shard is already in progress")
	ErrNoSuchMove = errors.New("catalog: no such move")
	// ErrMoveState is returned when a move is not in a state that allows
	// the change (e.g. committing a move that recovery aborted).
	ErrMoveState = errors.New("catalog: move is in the wrong state")
)

// BeginMove records a move before its work starts, in state copying.
type BeginMove struct {
	ID            string  `json:"id"`
	Coordinator   string  `json:"coordinator"`
	Incarnation   string  `json:"incarnation"`
	StartedMillis int64   `json:"started_millis"`
	Shards        []int64 `json:"shards"`
	Source        NodeID  `json:"source"`
	Target        NodeID  `json:"target"`
	Copy          bool    `json:"copy,omitempty"`
}

// FreezeMove starts (Frozen true) or calls off (false) a move's cut-over.
type FreezeMove struct {
	ID     string `json:"id"`
	Frozen bool   `json:"frozen"`
}

// FinishMove switches the placements of a copying or frozen move to the
// target (Commit), or marks it aborted. Either way writes are released.
type FinishMove struct {
	ID     string `json:"id"`
	Commit bool   `json:"commit"`
}

// ForgetMove removes the record of a switched or aborted move whose
// leftovers have been cleaned up.
type ForgetMove struct {
	ID string `json:"id"`
}

const (
	KindBeginMove  = "begin_move"
	KindFreezeMove = "freeze_move"
	KindFinishMove = "finish_move"
	KindForgetMove = "forget_move"
)

func (BeginMove) Kind() string  { return KindBeginMove }
func (FreezeMove) Kind() string { return KindFreezeMove }
func (FinishMove) Kind() string { return KindFinishMove }
func (ForgetMove) Kind() string { return KindForgetMove }
func (BeginMove) Version() int  { return 1 }
func (FreezeMove) Version() int { return 1 }
func (FinishMove) Version() int { return 1 }
func (ForgetMove) Version() int { return 1 }

func (c BeginMove) validate() error {
	switch {
	case !validTxID(c.ID):
		return invalidf("move id %q is not a valid id", c.ID)
	case len(c.Shards) == 0:
		return invalidf("move %s has no shards", c.ID)
	case c.Source == c.Target:
		return invalidf("move %s: source and target are the same node", c.ID)
	}
	return nil
}

func (c FreezeMove) validate() error { return validMoveID(c.ID) }
func (c FinishMove) validate() error { return validMoveID(c.ID) }
func (c ForgetMove) validate() error { return validMoveID(c.ID) }

func validMoveID(id string) error {
	if !validTxID(id) {
		return invalidf("move id %q is not a valid id", id)
	}
	return nil
}

// Moves returns the moves in progress, sorted by ID.
func (s *Snapshot) Moves() []Move {
	return slices.Clone(s.moves)
}

// Move returns the move id.
func (s *Snapshot) Move(id string) (Move, bool) {
	i, ok := s.moveIndex(id)
	if !ok {
		return Move{}, false
	}
	return s.moves[i], true
}

// WritesFrozen reports whether writes to tables of colocation group
// colocation must wait for a move's cut-over to end.
func (s *Snapshot) WritesFrozen(colocation uint32) bool {
	for i := range s.moves {
		if s.moves[i].State == MoveFrozen && s.moves[i].Colocation == colocation {
			return true
		}
	}
	return false
}

func (s *Snapshot) moveIndex(id string) (int, bool) {
	return slices.BinarySearchFunc(s.moves, id, func(m Move, id string) int { return cmp.Compare(m.ID, id) })
}

func (s *Snapshot) beginMove(c BeginMove) error {
	i, found := s.moveIndex(c.ID)
	if found {
		return fmt.Errorf("move %s: %w", c.ID, ErrMoveExists)
	}
	if _, ok := s.nodeIndex(c.Target); !ok {
		return fmt.Errorf("move %s: target node %d: %w", c.ID, c.Target, ErrNoSuchNode)
	}
	var colocation uint32
	for k, id := range c.Shards {
		t, sh, ok := s.findShard(id)
		if !ok {
			return fmt.Errorf("move %s: shard %d: %w", c.ID, id, ErrNoSuchShard)
		}
		switch {
		case k == 0:
			colocation = t.ColocationID
		case t.ColocationID != colocation:
			return invalidf("move %s: shard %d of %s is not colocated with shard %d", c.ID, id, t.QualifiedName(), c.Shards[0])
		}
		placed := t.Shards[sh].Placements
		if !slices.Contains(placed, c.Source) {
			return invalidf("move %s: shard %d is not placed on node %d", c.ID, id, c.Source)
		}
		if slices.Contains(placed, c.Target) {
			return invalidf("move %s: shard %d is already placed on node %d", c.ID, id, c.Target)
		}
		for _, m := range s.moves {
			if m.State != MoveAborted && m.State != MoveSwitched && slices.Contains(m.Shards, id) {
				return fmt.Errorf("shard %d is being moved by move %s: %w", id, m.ID, ErrMoveExists)
			}
		}
	}
	s.moves = slices.Insert(slices.Clone(s.moves), i, Move{
		ID: c.ID, Coordinator: c.Coordinator, Incarnation: c.Incarnation, StartedMillis: c.StartedMillis,
		Shards: slices.Clone(c.Shards), Colocation: colocation, Source: c.Source, Target: c.Target,
		Copy: c.Copy, State: MoveCopying,
	})
	return nil
}

func (s *Snapshot) freezeMove(c FreezeMove) error {
	i, ok := s.moveIndex(c.ID)
	if !ok {
		return fmt.Errorf("move %s: %w", c.ID, ErrNoSuchMove)
	}
	m := s.moves[i]
	if m.State != MoveCopying && m.State != MoveFrozen {
		return fmt.Errorf("move %s is %s: %w", c.ID, m.State, ErrMoveState)
	}
	m.State = MoveCopying
	if c.Frozen {
		m.State = MoveFrozen
	}
	s.moves = slices.Clone(s.moves)
	s.moves[i] = m
	return nil
}

func (s *Snapshot) finishMove(c FinishMove) error {
	i, ok := s.moveIndex(c.ID)
	if !ok {
		return fmt.Errorf("move %s: %w", c.ID, ErrNoSuchMove)
	}
	m := s.moves[i]
	want := MoveAborted
	if c.Commit {
		want = MoveSwitched
	}
	switch {
	case m.State == want:
		return nil // a repeated decision
	case m.State != MoveCopying && m.State != MoveFrozen:
		return fmt.Errorf("move %s is %s: %w", c.ID, m.State, ErrMoveState)
	}
	if c.Commit {
		for _, id := range m.Shards {
			if err := s.switchPlacement(id, m.Source, m.Target, m.Copy); err != nil {
				return fmt.Errorf("move %s: %w", c.ID, err)
			}
		}
	}
	m.State = want
	s.moves = slices.Clone(s.moves)
	s.moves[i] = m
	return nil
}

// switchPlacement replaces from by to among a shard's placements, or adds
// to when keep is set.
func (s *Snapshot) switchPlacement(shardID int64, from, to NodeID, keep bool) error {
	if _, ok := s.nodeIndex(to); !ok {
		return fmt.Errorf("shard %d: node %d: %w", shardID, to, ErrNoSuchNode)
	}
	old, k, ok := s.findShard(shardID)
	if !ok {
		return fmt.Errorf("shard %d: %w", shardID, ErrNoSuchShard)
	}
	t := old.clone()
	placed := t.Shards[k].Placements
	if !keep {
		placed = slices.DeleteFunc(placed, func(n NodeID) bool { return n == from })
	}
	if !slices.Contains(placed, to) {
		placed = append(placed, to)
	}
	slices.Sort(placed)
	t.Shards[k].Placements = placed
	ti, _ := s.tableIndex(t.Schema, t.Name)
	s.tables[ti] = t
	return nil
}

func (s *Snapshot) forgetMove(c ForgetMove) error {
	i, ok := s.moveIndex(c.ID)
	if !ok {
		return nil // forgotten already
	}
	if st := s.moves[i].State; st != MoveSwitched && st != MoveAborted {
		return fmt.Errorf("move %s is %s: %w", c.ID, st, ErrMoveState)
	}
	s.moves = slices.Delete(slices.Clone(s.moves), i, i+1)
	return nil
}
