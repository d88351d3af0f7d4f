package catalog

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// fsm is the Raft state machine: the current catalog snapshot. Readers load
// it with one atomic read; Apply and Restore publish a new one.
type fsm struct {
	current  atomic.Pointer[Snapshot]
	index    atomic.Uint64 // Raft index of the last command applied
	restores atomic.Int64

	mu      sync.Mutex
	applied chan struct{} // closed and replaced whenever the catalog changes
}

func newFSM() *fsm {
	f := &fsm{applied: make(chan struct{})}
	f.current.Store(NewSnapshot())
	return f
}

// changed returns a channel that is closed at the next change.
func (f *fsm) changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *fsm) publish(s *Snapshot, index uint64) {
	f.current.Store(s)
	f.index.Store(index)
	f.mu.Lock()
	close(f.applied)
	f.applied = make(chan struct{})
	f.mu.Unlock()
}

// Apply applies one log entry. It returns the new *Snapshot, or an error
// for a command that cannot be decoded (unknown kind or version) or does
// not apply to the catalog; either way the catalog is unchanged by a
// failed command, on every replica alike.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd, err := DecodeCommand(l.Data)
	if err == nil {
		var next *Snapshot
		if next, err = ApplyCommand(f.current.Load(), cmd); err == nil {
			f.publish(next, l.Index)
			return next
		}
	}
	// The catalog is unchanged, but the entry counts as applied, so a
	// proposer waiting for its index wakes up.
	f.publish(f.current.Load(), l.Index)
	return err
}

// Snapshot captures the current catalog; it is immutable, so persisting it
// later needs no lock.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return fsmSnapshot{Index: f.index.Load(), Catalog: f.current.Load()}, nil
}

// Restore replaces the catalog with one written by fsmSnapshot.Persist.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var snap fsmSnapshot
	if err := json.NewDecoder(rc).Decode(&snap); err != nil {
		return fmt.Errorf("catalog: restore raft snapshot: %w", err)
	}
	if snap.Catalog == nil {
		return fmt.Errorf("catalog: restore raft snapshot: no catalog")
	}
	f.publish(snap.Catalog, snap.Index)
	f.restores.Add(1)
	return nil
}

// fsmSnapshot is the persisted form of the state machine: the catalog and
// the index of the last command it includes.
type fsmSnapshot struct {
	Index   uint64    `json:"index"`
	Catalog *Snapshot `json:"catalog"`
}

func (f fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := json.Marshal(f)
	if err == nil {
		_, err = sink.Write(data)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("catalog: persist raft snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
