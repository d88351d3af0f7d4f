package shardmove

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	"github.com/jackc/pgx/v5"
)

// AddNode brings a PostgreSQL server into the cluster: it checks the
// server, gives it the cluster's roles and schema (logical tables in its
// shell database, schemas, types and functions in its shard database),
// registers it as joining, copies every reference table to it, and then
// makes it active. Running it again for a node left joining finishes the
// job.
func (m *Mover) AddNode(ctx context.Context, name, host string, port int) error {
	snap := m.cfg.Store.Snapshot()
	if n, ok := snap.NodeByName(name); ok {
		if n.State != catalog.NodeJoining || n.Host != host || n.Port != port {
			return pgerr.New(pgerr.DuplicateObject, "data node %q already exists", name)
		}
		return m.finishJoin(ctx, n)
	}
	for _, n := range snap.Nodes() {
		if n.Host == host && n.Port == port {
			return pgerr.New(pgerr.DuplicateObject, "%s:%d is data node %q already", host, port, n.Name)
		}
	}
	if err := m.checkServer(ctx, snap, host, port); err != nil {
		return err
	}
	if err := m.copySchema(ctx, snap, host, port); err != nil {
		return err
	}
	if _, err := m.cfg.Store.Apply(ctx, catalog.AddNode{Name: name, Host: host, Port: port}); err != nil {
		return fmt.Errorf("registering data node %s: %w", name, err)
	}
	snap, err := m.cfg.Store.Apply(ctx, catalog.SetNodeState{Name: name, State: catalog.NodeJoining})
	if err != nil {
		return fmt.Errorf("registering data node %s: %w", name, err)
	}
	n, _ := snap.NodeByName(name)
	return m.finishJoin(ctx, n)
}

// finishJoin copies the reference tables to a joining node, checks that
// no schema change slipped past it, and activates it.
func (m *Mover) finishJoin(ctx context.Context, n catalog.Node) error {
	for {
		// Reference tables created meanwhile are placed on active nodes
		// only; go round until none lacks a copy here.
		snap := m.cfg.Store.Snapshot()
		copied := 0
		for _, t := range snap.Tables() {
			if t.Method != catalog.MethodReplication {
				continue
			}
			for _, sh := range t.Shards {
				if len(sh.Placements) == 0 || containsNode(sh.Placements, n.ID) {
					continue
				}
				if err := m.copyShard(ctx, sh.ID, sh.Placements[0], n.ID); err != nil {
					return fmt.Errorf("copying reference table %s to data node %s: %w", t.QualifiedName(), n.Name, err)
				}
				copied++
			}
		}
		if copied == 0 {
			break
		}
	}
	if err := m.compareShells(ctx, n); err != nil {
		return err
	}
	_, err := m.cfg.Store.Apply(ctx, catalog.SetNodeState{Name: n.Name, State: catalog.NodeActive})
	return err
}

func containsNode(ids []catalog.NodeID, id catalog.NodeID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// referenceNode is a node whose schema a new node copies.
func referenceNode(snap *catalog.Snapshot) (catalog.Node, bool) {
	if act := snap.ActiveNodes(); len(act) > 0 {
		return act[0], true
	}
	return catalog.Node{}, false
}

// checkServer makes sure host:port is a PostgreSQL server distgres can
// use: reachable, the cluster's major version, prepared transactions and
// logical replication enabled, and no tables of its own in the databases
// distgres uses.
func (m *Mover) checkServer(ctx context.Context, snap *catalog.Snapshot, host string, port int) error {
	c, err := m.connectAddr(ctx, host, port, m.cfg.AdminDB)
	if err != nil {
		return pgerr.New(pgerr.UnableToConnect, "cannot reach the new data node at %s:%d: %v", host, port, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var version, prepared, walLevel, slots, senders string
	err = c.QueryRow(ctx, `SELECT current_setting('server_version_num'), current_setting('max_prepared_transactions'),
		current_setting('wal_level'), current_setting('max_replication_slots'), current_setting('max_wal_senders')`).
		Scan(&version, &prepared, &walLevel, &slots, &senders)
	if err != nil {
		return fmt.Errorf("new data node %s:%d: %w", host, port, err)
	}
	want, err := m.clusterMajor(ctx, snap)
	if err != nil {
		return err
	}
	if got := major(version); want != 0 && got != want {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "the new data node runs PostgreSQL %d; the cluster runs %d", got, want)
	}
	var problems []string
	if n, _ := strconv.Atoi(prepared); n <= 0 {
		problems = append(problems, "max_prepared_transactions = "+prepared+" (needs > 0 for two-phase commit)")
	}
	if walLevel != "logical" {
		problems = append(problems, "wal_level = "+walLevel+" (needs logical for online shard moves)")
	}
	if n, _ := strconv.Atoi(slots); n <= 0 {
		problems = append(problems, "max_replication_slots = "+slots+" (needs > 0)")
	}
	if n, _ := strconv.Atoi(senders); n <= 0 {
		problems = append(problems, "max_wal_senders = "+senders+" (needs > 0)")
	}
	if len(problems) > 0 {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "the new data node at %s:%d is not configured for distgres", host, port).
			WithDetail("%s", joinLines(problems)).WithHint("Set these in postgresql.conf and restart the server.")
	}
	var hasShardDB bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", m.cfg.ShardDB).Scan(&hasShardDB); err != nil {
		return err
	}
	if !hasShardDB {
		if _, err := c.Exec(ctx, "CREATE DATABASE "+sqlquote.Ident(m.cfg.ShardDB)); err != nil {
			return fmt.Errorf("new data node %s:%d: creating the shard database: %w", host, port, err)
		}
	}
	for _, db := range []string{m.cfg.ShellDB, m.cfg.ShardDB} {
		if err := m.checkEmpty(ctx, host, port, db); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mover) checkEmpty(ctx context.Context, host string, port int, db string) error {
	c, err := m.connectAddr(ctx, host, port, db)
	if err != nil {
		return fmt.Errorf("new data node %s:%d, database %s: %w", host, port, db, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	var example string
	err = c.QueryRow(ctx, `SELECT count(*) OVER (), n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%' LIMIT 1`).Scan(&n, &example)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "the new data node's database %s already holds %d tables or other relations (%s, ...)", db, n, example).
		WithHint("Add an empty server, or drop them first.")
}

// clusterMajor is the PostgreSQL major version of the cluster's nodes (0
// when it has none).
func (m *Mover) clusterMajor(ctx context.Context, snap *catalog.Snapshot) (int, error) {
	ref, ok := referenceNode(snap)
	if !ok {
		return 0, nil
	}
	c, err := m.connect(ctx, ref, m.cfg.AdminDB)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var v string
	if err := c.QueryRow(ctx, "SELECT current_setting('server_version_num')").Scan(&v); err != nil {
		return 0, err
	}
	return major(v), nil
}

func major(versionNum string) int {
	n, _ := strconv.Atoi(versionNum)
	return n / 10000
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// copySchema gives the new server the cluster's roles, the shell
// database's schema and the shard database's objects other than tables.
func (m *Mover) copySchema(ctx context.Context, snap *catalog.Snapshot, host string, port int) error {
	ref, ok := referenceNode(snap)
	if !ok {
		return nil // the first node: nothing to copy
	}
	roles, err := m.pgDumpAllRoles(ctx, ref.Host, ref.Port)
	if err != nil {
		return err
	}
	// Roles that exist already (the bootstrap superuser) fail alone.
	if err := m.psql(ctx, host, port, m.cfg.AdminDB, roles, false); err != nil {
		return err
	}
	shell, err := m.pgDump(ctx, ref.Host, ref.Port, m.cfg.ShellDB)
	if err != nil {
		return err
	}
	if err := m.psql(ctx, host, port, m.cfg.ShellDB, shell, true); err != nil {
		return err
	}
	shard, err := m.pgDump(ctx, ref.Host, ref.Port, m.cfg.ShardDB, "-T", "*.*")
	if err != nil {
		return err
	}
	return m.psql(ctx, host, port, m.cfg.ShardDB, shard, true)
}

// compareShells checks that node n's shell schema equals an active
// node's: DDL that ran between copying the schema and registering the
// node would otherwise be missing on it.
func (m *Mover) compareShells(ctx context.Context, n catalog.Node) error {
	snap := m.cfg.Store.Snapshot()
	ref, ok := referenceNode(snap)
	if !ok || ref.ID == n.ID {
		return nil
	}
	want, err := m.pgDump(ctx, ref.Host, ref.Port, m.cfg.ShellDB)
	if err != nil {
		return err
	}
	got, err := m.pgDump(ctx, n.Host, n.Port, m.cfg.ShellDB)
	if err != nil {
		return err
	}
	if line, differ := firstDifference(comparableDump(want), comparableDump(got)); differ {
		return pgerr.New(pgerr.ObjectNotInPrerequisiteState, "the schema changed while data node %s was being added; it stays joining", n.Name).
			WithDetail("First difference from data node %s: %s", ref.Name, line).
			WithHint("Remove it with distgresctl node remove %s, clear its databases and add it again.", n.Name)
	}
	return nil
}

// firstDifference returns the first line where two scripts differ.
func firstDifference(a, b []byte) (string, bool) {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range max(len(al), len(bl)) {
		switch {
		case i >= len(al):
			return "extra line " + string(bl[i]), true
		case i >= len(bl):
			return "missing line " + string(al[i]), true
		case !bytes.Equal(al[i], bl[i]):
			return fmt.Sprintf("%q instead of %q", bl[i], al[i]), true
		}
	}
	return "", false
}
