package catalog

import (
	"fmt"
	"slices"
)

// ApplyCommand returns the snapshot that results from applying cmd to s,
// with a version one higher. s is not modified, and a nil s is an empty
// catalog. ApplyCommand is deterministic: the same snapshot and command
// always give the same result, so replicas of a log agree.
func ApplyCommand(s *Snapshot, cmd Command) (*Snapshot, error) {
	if s == nil {
		s = NewSnapshot()
	}
	c, ok := commandValue(cmd)
	if !ok {
		return nil, fmt.Errorf("apply command %T: %w", cmd, ErrUnknownCommand)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("apply %s: %w", c.Kind(), err)
	}
	next := s.clone()
	if err := next.apply(c); err != nil {
		return nil, fmt.Errorf("apply %s: %w", c.Kind(), err)
	}
	next.version = s.version + 1
	next.schemaVersion = s.schemaVersion
	if changesSchema(s, c) {
		next.schemaVersion++
	}
	return next, nil
}

// changesSchema reports whether a command applied to s can change what a
// plan depends on. Transaction commands do when they carry catalog changes
// (DDL); the commit decisions of data transactions do not.
func changesSchema(s *Snapshot, c Command) bool {
	switch c := c.(type) {
	case SetCoordinator, RemoveCoordinator, ForgetTx, AllocateSequence, SetSequence,
		BeginMove, FreezeMove, ForgetMove:
		return false
	case FinishMove:
		return c.Commit
	case BeginTx:
		return len(c.Before) > 0
	case DecideTx:
		tx, ok := s.GlobalTx(c.ID)
		return ok && tx.State == TxPending && len(tx.OnCommit)+len(tx.OnAbort) > 0
	}
	return true
}

// apply changes a snapshot under construction by one validated command.
func (next *Snapshot) apply(c Command) error {
	var err error
	switch c := c.(type) {
	case AddNode:
		err = next.addNode(c)
	case RemoveNode:
		err = next.removeNode(c)
	case SetNodeState:
		err = next.setNodeState(c)
	case CreateTable:
		err = next.createTable(c)
	case DropTable:
		err = next.dropTable(c)
	case RenameTable:
		err = next.renameTable(c)
	case RenameColumn:
		err = next.renameColumn(c)
	case SetPlacement:
		err = next.setPlacement(c)
	case UpdateNode:
		err = next.updateNode(c)
	case SetCoordinator:
		err = next.setCoordinator(c)
	case RemoveCoordinator:
		err = next.removeCoordinator(c)
	case BeginTx:
		err = next.beginTx(c)
	case DecideTx:
		err = next.decideTx(c)
	case ForgetTx:
		err = next.forgetTx(c)
	case CreateSequence:
		err = next.createSequence(c)
	case DropSequence:
		err = next.dropSequence(c)
	case AllocateSequence:
		err = next.allocateSequence(c)
	case SetSequence:
		err = next.setSequence(c)
	case BeginMove:
		err = next.beginMove(c)
	case FreezeMove:
		err = next.freezeMove(c)
	case FinishMove:
		err = next.finishMove(c)
	case ForgetMove:
		err = next.forgetMove(c)
	case ReplicateTable:
		err = next.replicateTable(c)
	default:
		err = ErrUnknownCommand
	}
	return err
}

// The methods below change a snapshot under construction (a clone that has
// not been published yet).

func (s *Snapshot) addNode(c AddNode) error {
	for _, n := range s.nodes {
		if n.Name == c.Name {
			return fmt.Errorf("node %q: %w", c.Name, ErrNodeExists)
		}
		if n.Host == c.Host && n.Port == c.Port {
			return fmt.Errorf("node %q at %s:%d is node %q: %w", c.Name, c.Host, c.Port, n.Name, ErrNodeExists)
		}
	}
	s.nextNodeID = max(s.nextNodeID, 1)
	s.nodes = append(s.nodes, Node{
		ID:    s.nextNodeID,
		Name:  c.Name,
		Host:  c.Host,
		Port:  c.Port,
		State: NodeActive,
	})
	s.nextNodeID++
	return nil
}

func (s *Snapshot) updateNode(c UpdateNode) error {
	i := s.nodeIndexByName(c.Name)
	if i < 0 {
		return fmt.Errorf("node %q: %w", c.Name, ErrNoSuchNode)
	}
	for j, n := range s.nodes {
		if j != i && n.Host == c.Host && n.Port == c.Port {
			return fmt.Errorf("node %q at %s:%d is node %q: %w", c.Name, c.Host, c.Port, n.Name, ErrNodeExists)
		}
	}
	s.nodes[i].Host, s.nodes[i].Port = c.Host, c.Port
	return nil
}

func (s *Snapshot) removeNode(c RemoveNode) error {
	i := s.nodeIndexByName(c.Name)
	if i < 0 {
		return fmt.Errorf("node %q: %w", c.Name, ErrNoSuchNode)
	}
	id := s.nodes[i].ID
	for _, t := range s.tables {
		for _, sh := range t.Shards {
			if slices.Contains(sh.Placements, id) {
				return fmt.Errorf("node %q holds shard %d of %s: %w", c.Name, sh.ID, t.QualifiedName(), ErrNodeInUse)
			}
		}
	}
	s.nodes = slices.Delete(s.nodes, i, i+1)
	return nil
}

func (s *Snapshot) setNodeState(c SetNodeState) error {
	i := s.nodeIndexByName(c.Name)
	if i < 0 {
		return fmt.Errorf("node %q: %w", c.Name, ErrNoSuchNode)
	}
	s.nodes[i].State = c.State
	return nil
}

func (s *Snapshot) dropTable(c DropTable) error {
	i, ok := s.tableIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Name, ErrNoSuchTable)
	}
	s.tables = slices.Delete(s.tables, i, i+1)
	s.dropOwnedSequences(c.Schema, c.Name)
	return nil
}

func (s *Snapshot) renameTable(c RenameTable) error {
	i, ok := s.tableIndex(c.Schema, c.Name)
	if !ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Name, ErrNoSuchTable)
	}
	if _, ok := s.tableIndex(c.Schema, c.NewName); ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.NewName, ErrTableExists)
	}
	t := s.tables[i].clone()
	t.Name = c.NewName
	s.tables = slices.Delete(s.tables, i, i+1)
	s.insertTable(t)
	s.renameSequenceOwner(c.Schema, c.Name, c.NewName, "", "")
	return nil
}

func (s *Snapshot) renameColumn(c RenameColumn) error {
	i, ok := s.tableIndex(c.Schema, c.Table)
	if !ok {
		return fmt.Errorf("table %s.%s: %w", c.Schema, c.Table, ErrNoSuchTable)
	}
	if s.tables[i].DistColumn == c.Column {
		t := s.tables[i].clone()
		t.DistColumn = c.NewName
		s.tables[i] = t
	}
	s.renameSequenceOwner(c.Schema, c.Table, "", c.Column, c.NewName)
	return nil
}

func (s *Snapshot) setPlacement(c SetPlacement) error {
	for _, id := range c.Nodes {
		if _, ok := s.nodeIndex(id); !ok {
			return fmt.Errorf("shard %d: node %d: %w", c.ShardID, id, ErrNoSuchNode)
		}
	}
	old, shard, ok := s.findShard(c.ShardID)
	if !ok {
		return fmt.Errorf("shard %d: %w", c.ShardID, ErrNoSuchShard)
	}
	i, _ := s.tableIndex(old.Schema, old.Name)
	t := old.clone()
	t.Shards[shard].Placements = slices.Clone(c.Nodes)
	s.tables[i] = t
	return nil
}

// insertTable adds t at its sorted position; t must not exist yet.
func (s *Snapshot) insertTable(t *Table) {
	i, _ := slices.BinarySearchFunc(s.tables, t, compareTables)
	s.tables = slices.Insert(s.tables, i, t)
}
