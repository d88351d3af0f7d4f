package gtm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/distgres/distgres/catalog"
)

// Work is the statements one database of one node runs.
type Work struct {
	Node     catalog.Node
	Database string
	SQL      []string
}

// DDL is a statement whose data node work and catalog change must commit
// together.
type DDL struct {
	// Before is applied with the pending record (it may allocate what
	// Work needs, such as shard IDs); OnAbort undoes it.
	Before   []catalog.Command
	OnCommit []catalog.Command
	OnAbort  catalog.Command
	// Work returns the statements for each node, given the catalog with
	// Before applied.
	Work func(*catalog.Snapshot) ([]Work, error)
}

// ErrOutcomeUnknown is returned when a DDL statement was prepared on every
// node but its decision could not be logged or confirmed; recovery will
// finish or roll it back.
var ErrOutcomeUnknown = errors.New("gtm: the outcome of the statement is not known yet")

// RunDDL runs d as a global transaction and returns the command tag of
// the first statement of the first participant.
func (m *Manager) RunDDL(ctx context.Context, acquire Acquire, d DDL) (string, error) {
	onCommit, err := catalog.EncodeCommands(d.OnCommit...)
	if err != nil {
		return "", err
	}
	onAbort, err := catalog.EncodeCommands(d.OnAbort)
	if err != nil {
		return "", err
	}
	before, err := catalog.EncodeCommands(d.Before...)
	if err != nil {
		return "", err
	}
	tx := catalog.GlobalTx{
		ID: m.newID(), Coordinator: m.cfg.Coordinator, Incarnation: m.cfg.Incarnation,
		StartedMillis: time.Now().UnixMilli(), OnCommit: onCommit, OnAbort: onAbort,
	}
	if err := m.waitReady(ctx); err != nil {
		return "", err
	}
	m.track(tx.ID)
	defer m.untrack(tx.ID)
	// Step 1: the intent, with the catalog change that must come first.
	snap, err := m.cfg.Log.Apply(ctx, catalog.BeginTx{Tx: tx, Before: before})
	if err != nil {
		if uncertain(ctx, err) {
			// The entry may still commit once the group has a quorum
			// again; an abort logged after it takes it back.
			go m.abortWhenPossible(tx.ID)
		}
		return "", err
	}
	if err := m.failpoint("begun"); err != nil {
		return "", err
	}
	work, err := d.Work(snap)
	if err != nil {
		m.abort(ctx, tx.ID, nil)
		return "", err
	}
	// Step 2: every participant runs its statements and prepares.
	branches, tag, err := m.prepare(ctx, acquire, tx.ID, work)
	if err != nil {
		m.abort(ctx, tx.ID, branches)
		return "", err
	}
	if err := m.failpoint("prepared"); err != nil {
		releaseAll(branches, false)
		return "", err
	}
	// Step 3: the decision, which applies the catalog change.
	if _, err := m.cfg.Log.Apply(ctx, catalog.DecideTx{ID: tx.ID, Commit: true}); err != nil {
		if uncertain(ctx, err) {
			releaseAll(branches, false)
			return "", fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		// A definite refusal (the catalog change no longer applies, or
		// recovery aborted the transaction): roll back.
		m.abort(context.WithoutCancel(ctx), tx.ID, branches)
		return "", err
	}
	if err := m.failpoint("decided"); err != nil {
		releaseAll(branches, false)
		return "", err
	}
	// Step 4: carry out the decision; recovery finishes whatever fails.
	m.finish(context.WithoutCancel(ctx), tx.ID, branches, true)
	if err := m.failpoint("committed"); err != nil {
		return "", err
	}
	return tag, nil
}

// abortWhenPossible logs an abort decision for a transaction whose begin
// record may or may not have committed, retrying until the log takes it.
// An abort of a transaction that was never recorded changes nothing.
func (m *Manager) abortWhenPossible(id string) {
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		select {
		case <-m.stop:
			return
		case <-time.After(delay):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := m.cfg.Log.Apply(ctx, catalog.DecideTx{ID: id, Commit: false})
		cancel()
		if err == nil || errors.Is(err, catalog.ErrTxDecided) || errors.Is(err, catalog.ErrClosed) {
			m.forget(id)
			return
		}
	}
}

// prepare opens one transaction per participant, runs its statements and
// prepares it, all participants in parallel.
func (m *Manager) prepare(ctx context.Context, acquire Acquire, id string, work []Work) ([]*branch, string, error) {
	type key struct {
		node catalog.NodeID
		db   string
	}
	index := map[key]int{}
	var groups []Work
	for _, w := range work {
		k := key{w.Node.ID, w.Database}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, Work{Node: w.Node, Database: w.Database})
		}
		groups[i].SQL = append(groups[i].SQL, w.SQL...)
	}
	branches := make([]*branch, len(groups))
	tags := make([]string, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		branches[i] = &branch{p: catalog.Participant{Node: g.Node.ID, Database: g.Database}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags[i], errs[i] = m.prepareOne(ctx, acquire, id, branches[i], g)
		}()
	}
	wg.Wait()
	tag := ""
	if len(tags) > 0 {
		tag = tags[0]
	}
	return branches, tag, firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) prepareOne(ctx context.Context, acquire Acquire, id string, b *branch, w Work) (string, error) {
	conn, err := acquire(ctx, w.Node, w.Database)
	if err != nil {
		return "", err
	}
	b.conn = conn
	pc := conn.PgConn()
	if _, err := pc.Exec(ctx, "BEGIN").ReadAll(); err != nil {
		return "", err
	}
	tag := ""
	for _, sql := range w.SQL {
		res, err := pc.Exec(ctx, sql).ReadAll()
		if err != nil {
			return "", err
		}
		if tag == "" && len(res) > 0 {
			tag = res[len(res)-1].CommandTag.String()
		}
	}
	return tag, prepareAll(ctx, id, []*branch{b})
}
