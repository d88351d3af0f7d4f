package shardmove

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5"
)

// MoveShard moves the shard group of shardID to the node named target.
func (m *Mover) MoveShard(ctx context.Context, shardID int64, target string) error {
	snap := m.cfg.Store.Snapshot()
	ids, source, err := groupOf(snap, shardID)
	if err != nil {
		return err
	}
	dst, err := nodeNamed(snap, target)
	if err != nil {
		return err
	}
	if dst.ID == source {
		return pgerr.New(pgerr.InvalidParameterValue, "shard %d is already on data node %s", shardID, target)
	}
	if dst.State != catalog.NodeActive {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "data node %s is %s and takes no shards", target, dst.State)
	}
	return m.run(ctx, ids, source, dst.ID, false)
}

// copyShard gives target a copy of a reference table's shard.
func (m *Mover) copyShard(ctx context.Context, shardID int64, source, target catalog.NodeID) error {
	return m.run(ctx, []int64{shardID}, source, target, true)
}

// run records a move, carries it out and cleans up after it, whether it
// succeeded, failed or was cancelled.
func (m *Mover) run(ctx context.Context, ids []int64, source, target catalog.NodeID, copy bool) error {
	snap := m.cfg.Store.Snapshot()
	src, err := nodeByID(snap, source)
	if err != nil {
		return err
	}
	dst, err := nodeByID(snap, target)
	if err != nil {
		return err
	}
	for _, n := range []catalog.Node{src, dst} {
		c, err := m.connect(ctx, n, m.cfg.ShardDB)
		if err != nil {
			return err // a node that is down fails the move before it starts
		}
		c.Close(ctx)
	}
	mv := move{id: newMoveID(), shards: shardTables(snap, ids), source: src, target: dst, copy: copy}
	p := &Progress{ID: mv.id, Shards: ids, Source: src.Name, Target: dst.Name, Phase: "starting", Started: time.Now()}
	defer m.track(p)()
	_, err = m.cfg.Store.Apply(ctx, catalog.BeginMove{ID: mv.id, Coordinator: m.cfg.Coordinator, Incarnation: m.cfg.Incarnation,
		StartedMillis: time.Now().UnixMilli(), Shards: ids, Source: source, Target: target, Copy: copy})
	if err != nil {
		if errors.Is(err, catalog.ErrMoveExists) {
			return pgerr.New(pgerr.ObjectInUse, "shard %d is being moved already", ids[0])
		}
		return fmt.Errorf("recording the move: %w", err)
	}
	log := m.log.With("move", mv.id, "shards", ids, "from", src.Name, "to", dst.Name)
	log.Info("shard move: started", "copy", copy)
	err = m.copyAndSwitch(ctx, mv, p)
	if err == nil {
		log.Info("shard move: done", "bytes", p.BytesTotal, "took", time.Since(p.Started).Round(time.Millisecond))
		return nil
	}
	if ctx.Err() != nil {
		err = pgerr.New(pgerr.QueryCanceled, "shard move cancelled; the source placement stays")
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	rec, ok := m.cfg.Store.Snapshot().Move(mv.id)
	switched := ok && rec.State == catalog.MoveSwitched
	if switched {
		log.Warn("shard move: switched, but cleaning up the source failed; retrying", "err", err)
	} else {
		log.Warn("shard move: failed; cleaning up", "err", err)
	}
	if ok {
		if cerr := m.cleanup(cctx, rec); cerr != nil {
			log.Warn("shard move: cleanup incomplete; the Raft leader retries it", "err", cerr)
		}
	}
	if switched {
		return nil
	}
	return err
}

// copyAndSwitch does a move's work up to and including dropping the
// source copy.
func (m *Mover) copyAndSwitch(ctx context.Context, mv move, p *Progress) error {
	phase := func(s string) { m.update(p, func(p *Progress) { p.Phase = s }) }
	phase("schema")
	if err := m.createTargetTables(ctx, mv); err != nil {
		return err
	}
	changed, err := m.prepareSource(ctx, mv, p)
	if err != nil {
		return err
	}
	if err := m.createPublication(ctx, mv); err != nil {
		return err
	}
	if err := m.createSubscription(ctx, mv); err != nil {
		return err
	}
	phase("copying")
	if err := m.failpoint("move-copying"); err != nil {
		return err
	}
	if err := m.waitCopied(ctx, mv, p); err != nil {
		return err
	}
	phase("catching up")
	src, err := m.connect(ctx, mv.source, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := m.connect(ctx, mv.target, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	lock, err := m.connect(ctx, mv.source, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer lock.Close(context.WithoutCancel(ctx))
	conns := cutOverConns{lock: lock, src: src, dst: dst}
	if err := m.waitCaughtUp(ctx, src, dst, mv, 0); err != nil {
		return err
	}
	phase("cut-over")
	for attempt := 1; ; attempt++ {
		done, err := m.cutOver(ctx, conns, mv, changed, attempt)
		if done || err != nil {
			return err
		}
		if attempt == m.cfg.CutoverAttempts {
			return pgerr.New(pgerr.LockNotAvailable, "could not cut over shard group %d: open transactions kept writing to it (%d attempts)", mv.shards[0].id, attempt).
				WithHint("Retry the move when long write transactions on these tables have finished.")
		}
		if err := sleep(ctx, time.Duration(attempt)*200*time.Millisecond); err != nil {
			return err
		}
	}
}

// createTargetTables creates the shard tables on the target as they are
// on the source (columns, constraints, indexes), replacing leftovers of
// an earlier attempt: the catalog places none of them on the target.
func (m *Mover) createTargetTables(ctx context.Context, mv move) error {
	args := make([]string, 0, 2*len(mv.shards))
	var drops strings.Builder
	for _, s := range mv.shards {
		args = append(args, "-t", tablePattern(s.schema, s.name))
		fmt.Fprintf(&drops, "DROP TABLE IF EXISTS %s;\n", s.quoted())
	}
	fmt.Fprintf(&drops, "DROP TABLE IF EXISTS %[1]s;\nCREATE TABLE %[1]s (n int);\n", mv.marker())
	script, err := m.pgDump(ctx, mv.source.Host, mv.source.Port, m.cfg.ShardDB, args...)
	if err != nil {
		return fmt.Errorf("data node %s: reading the shard tables' definition: %w", mv.source.Name, err)
	}
	return m.psql(ctx, mv.target.Host, mv.target.Port, m.cfg.ShardDB, append([]byte(drops.String()), script...), true)
}

// prepareSource makes every table publish its updates and deletes (a
// table without a primary key gets REPLICA IDENTITY FULL, which logical
// replication needs to find the changed row) and records the group's
// size. It returns the tables it changed.
func (m *Mover) prepareSource(ctx context.Context, mv move, p *Progress) ([]shardTable, error) {
	c, err := m.connect(ctx, mv.source, m.cfg.ShardDB)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s; CREATE TABLE %[1]s (n int)", mv.marker())); err != nil {
		return nil, fmt.Errorf("data node %s: %w", mv.source.Name, err)
	}
	var changed []shardTable
	var total int64
	for _, s := range mv.shards {
		var ident string
		var keyed bool
		var size int64
		err := c.QueryRow(ctx, `SELECT c.relreplident::text,
				EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)),
				pg_total_relation_size(c.oid)
			FROM pg_class c WHERE c.oid = $1::regclass`, s.quoted()).Scan(&ident, &keyed, &size)
		if err != nil {
			return nil, fmt.Errorf("data node %s: shard table %s: %w", mv.source.Name, s.quoted(), err)
		}
		total += size
		if ident == "f" || keyed && (ident == "d" || ident == "i") {
			continue
		}
		if _, err := c.Exec(ctx, "ALTER TABLE "+s.quoted()+" REPLICA IDENTITY FULL"); err != nil {
			return nil, fmt.Errorf("data node %s: %w", mv.source.Name, err)
		}
		changed = append(changed, s)
	}
	m.update(p, func(p *Progress) { p.BytesTotal = total })
	return changed, nil
}

// cutOver freezes writes to the group, locks the source tables against
// writers, waits for the target to apply the last change, and switches
// the placement. done is false (with no error) when writers held the
// tables longer than the lock timeout: the freeze is lifted and the
// caller tries again.
func (m *Mover) cutOver(ctx context.Context, c cutOverConns, mv move, changed []shardTable, attempt int) (done bool, err error) {
	src := c.lock
	if _, err := m.cfg.Store.Apply(ctx, catalog.FreezeMove{ID: mv.id, Frozen: true}); err != nil {
		return false, fmt.Errorf("freezing writes: %w", err)
	}
	// Coordinators apply the freeze a moment after the leader; the lock
	// below catches any write that slipped through.
	if err := sleep(ctx, 20*time.Millisecond); err != nil {
		return false, err
	}
	tx, err := src.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", m.cfg.LockTimeout.Milliseconds())); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+mv.tableList()+" IN EXCLUSIVE MODE"); err != nil {
		if pgerr.Code(err) != pgerr.LockNotAvailable {
			return false, fmt.Errorf("data node %s: locking the shard tables: %w", mv.source.Name, err)
		}
		tx.Rollback(ctx)
		if _, err := m.cfg.Store.Apply(ctx, catalog.FreezeMove{ID: mv.id, Frozen: false}); err != nil {
			return false, fmt.Errorf("releasing writes: %w", err)
		}
		m.log.Info("shard move: writers held the shard tables; retrying the cut-over", "move", mv.id)
		return false, nil
	}
	if err := m.waitCaughtUp(ctx, c.src, c.dst, mv, attempt); err != nil {
		return false, err
	}
	if err := m.failpoint("move-frozen"); err != nil {
		return false, err
	}
	// The commit point: from here on the target is authoritative.
	if _, err := m.cfg.Store.Apply(ctx, catalog.FinishMove{ID: mv.id, Commit: true}); err != nil {
		return false, fmt.Errorf("switching the placement: %w", err)
	}
	if err := m.failpoint("move-switched"); err != nil {
		return true, err
	}
	if err := m.dropSubscription(ctx, mv.target, mv.id); err != nil {
		return true, err
	}
	if _, err := c.dst.Exec(ctx, "DROP TABLE IF EXISTS "+mv.marker()); err != nil {
		return true, err
	}
	if _, err := tx.Exec(ctx, "DROP PUBLICATION IF EXISTS "+sqlquote.Ident(objectName(mv.id))); err != nil {
		return true, err
	}
	if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+mv.marker()); err != nil {
		return true, err
	}
	if mv.copy {
		for _, s := range changed {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+s.quoted()+" REPLICA IDENTITY DEFAULT"); err != nil {
				return true, err
			}
		}
	} else if _, err := tx.Exec(ctx, "DROP TABLE "+mv.tableList()); err != nil {
		// Writers from a coordinator that has not seen the switch yet
		// wait on the lock and fail once the table is gone, so none of
		// their writes land in the old copy.
		return true, fmt.Errorf("data node %s: dropping the old shard tables: %w", mv.source.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return true, err
	}
	if err := m.dropPublication(ctx, mv.source, mv.id); err != nil {
		return true, err
	}
	if _, err := m.cfg.Store.Apply(ctx, catalog.ForgetMove{ID: mv.id}); err != nil {
		return true, fmt.Errorf("forgetting the finished move: %w", err)
	}
	return true, nil
}

// cutOverConns are the connections a cut-over uses: one to hold the lock
// on the source, one to write the catch-up marker there, one to watch the
// target.
type cutOverConns struct {
	lock, src, dst *pgx.Conn
}
