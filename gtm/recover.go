package gtm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RecoveryReport says what one recovery pass did.
type RecoveryReport struct {
	Committed  int // prepared transactions committed
	RolledBack int // prepared transactions rolled back
	Aborted    int // pending global transactions aborted (coordinator gone)
	Forgotten  int // decision records removed
	InFlight   int // pending transactions left alone
}

// preparedXact is a prepared transaction found on a node.
type preparedXact struct {
	gid      string
	id       string
	p        catalog.Participant
	prepared time.Time
}

// Recover compares the prepared transactions on every data node with the
// decision log and resolves them: decided transactions are carried out,
// pending ones whose coordinator is gone are aborted, and prepared
// transactions with no record are rolled back once older than the grace
// period. Nodes that cannot be reached are skipped (and their records
// kept) until a later pass.
func (m *Manager) Recover(ctx context.Context) (RecoveryReport, error) {
	var rep RecoveryReport
	snap := m.cfg.Log.Snapshot()
	found := map[string][]preparedXact{}
	reachable := true
	var errs []error
	for _, n := range snap.Nodes() {
		xs, err := m.listPrepared(ctx, n)
		if err != nil {
			reachable = false
			errs = append(errs, fmt.Errorf("node %s: %w", n.Name, err))
			continue
		}
		for _, x := range xs {
			found[x.id] = append(found[x.id], x)
		}
	}
	for _, tx := range snap.GlobalTxs() {
		state := tx.State
		started := time.UnixMilli(tx.StartedMillis)
		if state == catalog.TxPending {
			if !m.abandoned(ctx, snap, tx.Incarnation, tx.ID, started) {
				rep.InFlight++
				delete(found, tx.ID)
				continue
			}
			var err error
			if state, err = m.decideAbort(ctx, tx.ID); err != nil {
				errs = append(errs, err)
				delete(found, tx.ID)
				continue
			}
			if state == catalog.TxAborted {
				rep.Aborted++
				m.log.Info("gtm: aborted a transaction nobody works on any more", "tx", tx.ID, "coordinator", tx.Coordinator)
			}
		}
		commit := state == catalog.TxCommitted
		done := reachable
		for _, x := range found[tx.ID] {
			if err := m.resolve(ctx, snap, x, commit); err != nil {
				errs = append(errs, err)
				done = false
				continue
			}
			if commit {
				rep.Committed++
			} else {
				rep.RolledBack++
			}
		}
		delete(found, tx.ID)
		// An abort record is kept while its coordinator might still try
		// to commit: a commit decision logged after it then fails.
		if done && (commit || m.abandoned(ctx, snap, tx.Incarnation, tx.ID, started)) {
			if _, err := m.cfg.Log.Apply(ctx, catalog.ForgetTx{IDs: []string{tx.ID}}); err != nil {
				errs = append(errs, err)
			} else {
				rep.Forgotten++
			}
		}
	}
	// Presumed abort: a prepared transaction with no record was prepared
	// by a coordinator that had not logged its decision. Once that
	// coordinator is gone or no longer works on it, an abort is logged
	// (so that a late commit decision fails) and it is rolled back.
	for id, xs := range found {
		oldest := time.Now()
		for _, x := range xs {
			if x.prepared.Before(oldest) {
				oldest = x.prepared
			}
		}
		if !m.abandoned(ctx, snap, catalog.TxIncarnation(id), id, oldest) {
			rep.InFlight += len(xs)
			continue
		}
		state, err := m.decideAbort(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, x := range xs {
			if err := m.resolve(ctx, snap, x, state == catalog.TxCommitted); err != nil {
				errs = append(errs, err)
				continue
			}
			if state == catalog.TxCommitted {
				rep.Committed++
			} else {
				rep.RolledBack++
			}
		}
	}
	return rep, errors.Join(errs...)
}

// decideAbort logs an abort decision and returns the transaction's
// state: aborted, or committed if its coordinator decided first.
func (m *Manager) decideAbort(ctx context.Context, id string) (catalog.TxState, error) {
	_, err := m.cfg.Log.Apply(ctx, catalog.DecideTx{ID: id, Commit: false})
	if err == nil {
		return catalog.TxAborted, nil
	}
	if errors.Is(err, catalog.ErrTxDecided) {
		if cur, ok := m.cfg.Log.Snapshot().GlobalTx(id); ok {
			return cur.State, nil
		}
	}
	return "", err
}

// abandoned reports whether nobody works on transaction id any more
// (see OwnerCheck).
func (m *Manager) abandoned(ctx context.Context, snap *catalog.Snapshot, incarnation, id string, started time.Time) bool {
	return OwnerCheck{Self: m.cfg.Incarnation, InFlight: m.InFlight, Ping: m.cfg.Ping, Grace: m.cfg.Grace}.Abandoned(ctx, snap, incarnation, id, started)
}

func (m *Manager) pool(ctx context.Context, n catalog.Node, db string) (*pgxpool.Pool, error) {
	return m.cfg.Pools.Get(ctx, int32(n.ID), n.Host, n.Port, db)
}

func (m *Manager) listPrepared(ctx context.Context, n catalog.Node) ([]preparedXact, error) {
	pool, err := m.pool(ctx, n, m.cfg.AdminDatabase)
	if err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `SELECT gid, database, prepared FROM pg_prepared_xacts WHERE starts_with(gid, $1)`, catalog.PreparedPrefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []preparedXact
	for rows.Next() {
		var x preparedXact
		var db string
		if err := rows.Scan(&x.gid, &db, &x.prepared); err != nil {
			return nil, err
		}
		id, p, ok := catalog.ParsePreparedName(x.gid)
		if !ok || p.Node != n.ID || p.Database != db {
			continue // not one of ours, or named for another node
		}
		x.id, x.p = id, p
		out = append(out, x)
	}
	return out, rows.Err()
}

func (m *Manager) resolve(ctx context.Context, snap *catalog.Snapshot, x preparedXact, commit bool) error {
	n, ok := snap.Node(x.p.Node)
	if !ok {
		return fmt.Errorf("gtm: prepared transaction %s: node %d is not in the catalog", x.gid, x.p.Node)
	}
	pool, err := m.pool(ctx, n, x.p.Database)
	if err != nil {
		return err
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if err := resolvePrepared(ctx, c.Conn().PgConn(), x.gid, commit); err != nil {
		return fmt.Errorf("gtm: %s on node %s: %w", x.gid, n.Name, err)
	}
	return nil
}

// Run recovers at once and then every interval while leader() is true,
// until ctx ends.
func (m *Manager) Run(ctx context.Context, interval time.Duration, leader func() bool) {
	Every(ctx, 0, interval, func() {
		if !leader() {
			return
		}
		rep, err := m.Recover(ctx)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("gtm: recovery pass incomplete", "err", err)
		}
		if rep.Committed+rep.RolledBack+rep.Aborted > 0 {
			m.log.Info("gtm: recovered transactions", "committed", rep.Committed, "rolled_back", rep.RolledBack, "aborted", rep.Aborted)
		}
	})
}
