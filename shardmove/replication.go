package shardmove

import (
	"context"
	"fmt"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5"
)

// pollInterval is how often a move looks at replication progress.
const pollInterval = 100 * time.Millisecond

// createPublication publishes the move's shard tables on the source.
func (m *Mover) createPublication(ctx context.Context, mv move) error {
	name := sqlquote.Ident(objectName(mv.id))
	return m.exec(ctx, mv.source, m.cfg.ShardDB,
		"DROP PUBLICATION IF EXISTS "+name,
		"CREATE PUBLICATION "+name+" FOR TABLE "+mv.tableList()+", "+mv.marker())
}

// createSubscription subscribes the target to the publication; it copies
// the existing rows and then streams changes through a slot on the source
// named like the subscription.
func (m *Mover) createSubscription(ctx context.Context, mv move) error {
	name := objectName(mv.id)
	return m.exec(ctx, mv.target, m.cfg.ShardDB, fmt.Sprintf(
		"CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (slot_name = %s)",
		sqlquote.Ident(name), sqlquote.Literal(m.sourceConninfo(mv.source)), sqlquote.Ident(name), sqlquote.Literal(name)))
}

// waitCopied waits until the subscription has copied every table and its
// apply worker has taken over, reporting the bytes on the target.
func (m *Mover) waitCopied(ctx context.Context, mv move, p *Progress) error {
	c, err := m.connect(ctx, mv.target, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	name := objectName(mv.id)
	tables := make([]string, len(mv.shards))
	for i, s := range mv.shards {
		tables[i] = s.quoted()
	}
	for {
		var pending, failures int
		var bytes int64
		err := c.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
			  WHERE s.subname = $1 AND r.srsubstate <> 'r'),
			(SELECT count(*) FROM pg_subscription s WHERE s.subname = $1),
			coalesce((SELECT sync_error_count + apply_error_count FROM pg_stat_subscription_stats WHERE subname = $1), 0),
			(SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0) FROM unnest($2::text[]) t)`,
			name, tables).Scan(&pending, new(int), &failures, &bytes)
		if err != nil {
			return fmt.Errorf("data node %s: watching the copy: %w", mv.target.Name, err)
		}
		m.update(p, func(p *Progress) { p.BytesDone = bytes })
		if failures > 0 {
			return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "replicating shards to data node %s failed", mv.target.Name).
				WithHint("The data node's log says why (a missing type, role or extension, or a full disk).")
		}
		if pending == 0 {
			return nil
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// caughtUpTimeout bounds the wait for the target to apply a marker.
const caughtUpTimeout = time.Minute

// waitCaughtUp waits until the target has applied everything the source
// committed so far: it commits a marker row on the source (flushing the
// WAL, so the walsender sends it at once) and waits for the row to appear
// on the target, which applies transactions in commit order.
func (m *Mover) waitCaughtUp(ctx context.Context, src, dst *pgx.Conn, mv move, round int) error {
	ctx, cancel := context.WithTimeout(ctx, caughtUpTimeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit = on")
	b.Queue("INSERT INTO "+mv.marker()+" VALUES ($1)", round)
	b.Queue("COMMIT")
	if err := src.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("data node %s: writing the catch-up marker: %w", mv.source.Name, err)
	}
	name := objectName(mv.id)
	for i := 0; ; i++ {
		var seen bool
		if err := dst.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+mv.marker()+" WHERE n = $1)", round).Scan(&seen); err != nil {
			return fmt.Errorf("data node %s: watching replication: %w", mv.target.Name, err)
		}
		if seen {
			return nil
		}
		if i%100 == 99 {
			var failures int
			err := dst.QueryRow(ctx, `SELECT coalesce((SELECT apply_error_count FROM pg_stat_subscription_stats WHERE subname = $1), 0)`, name).Scan(&failures)
			if err != nil {
				return fmt.Errorf("data node %s: watching replication: %w", mv.target.Name, err)
			}
			if failures > 0 {
				return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "replicating shards to data node %s failed", mv.target.Name).
					WithHint("The data node's log says why.")
			}
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "data node %s did not catch up with %s within %v", mv.target.Name, mv.source.Name, caughtUpTimeout)
			}
			return err
		}
	}
}

// dropSubscription drops the move's subscription on node (which drops its
// slot on the source). When the source cannot be reached, the
// subscription is detached from its slot first; the slot is then dropped
// from the source side.
func (m *Mover) dropSubscription(ctx context.Context, n catalog.Node, id string) error {
	c, err := m.connect(ctx, n, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	name := objectName(id)
	var exists bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("data node %s: %w", n.Name, err)
	}
	if !exists {
		return nil
	}
	q := sqlquote.Ident(name)
	if _, err := c.Exec(ctx, "DROP SUBSCRIPTION "+q); err == nil {
		return nil
	}
	for _, s := range []string{"ALTER SUBSCRIPTION " + q + " DISABLE", "ALTER SUBSCRIPTION " + q + " SET (slot_name = NONE)", "DROP SUBSCRIPTION " + q} {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("data node %s: %s: %w", n.Name, s, err)
		}
	}
	return nil
}

// dropPublication drops the move's publication and, if it is still
// there, its replication slot on node (the source).
func (m *Mover) dropPublication(ctx context.Context, n catalog.Node, id string) error {
	name := objectName(id)
	c, err := m.connect(ctx, n, m.cfg.ShardDB)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+sqlquote.Ident(name)); err != nil {
		return fmt.Errorf("data node %s: %w", n.Name, err)
	}
	// A walsender still streaming to an unreachable subscriber holds the
	// slot; end it first.
	_, err = c.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, name)
	if err == nil {
		for range 50 {
			var left int
			if err = c.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1 AND active`, name).Scan(&left); err != nil || left == 0 {
				break
			}
			if err = sleep(ctx, pollInterval); err != nil {
				break
			}
		}
	}
	if err == nil {
		_, err = c.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, name)
	}
	if err != nil {
		return fmt.Errorf("data node %s: dropping replication slot %s: %w", n.Name, name, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
