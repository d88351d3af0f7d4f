package datanode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// InitOptions tunes InitDB.
type InitOptions struct {
	// NoSync passes --no-sync to initdb: faster, but the new files are not
	// flushed to disk. Meant for tests; leave false for real clusters.
	NoSync bool

	// Fast turns off durability in postgresql.conf (fsync,
	// synchronous_commit and full_page_writes). Meant for tests only: a
	// crash of the machine can corrupt such a cluster.
	Fast bool

	// SharedBy is how many data nodes share this machine's cores (0 or 1:
	// the node has them to itself). Nodes that share the cores get fewer
	// parallel workers per query, so that a statement running on all of
	// them at once does not start more processes than there are cores.
	SharedBy int

	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// parallelSettings returns the postgresql.conf lines that size parallel
// query for a node sharing cores with shared-1 other nodes, or "" when the
// node has the machine to itself (PostgreSQL's defaults then apply).
// A scatter aggregate over 10M rows on 3 nodes and 2 cores took 355–400 ms
// with PostgreSQL's default of 2 workers per node (9 processes) and
// 295–311 ms with none.
func parallelSettings(cores, shared int) string {
	if shared <= 1 {
		return ""
	}
	workers := min(max(cores/shared-1, 0), 2)
	return fmt.Sprintf("# %d data nodes share %d cores: parallel workers per query sized to match.\nmax_parallel_workers_per_gather = %d\n", shared, cores, workers)
}

// initDBOutputLines is how many trailing lines of initdb output an error
// includes.
const initDBOutputLines = 15

// baseSettings are appended to postgresql.conf of every data node.
// Besides 127.0.0.1, servers listen on a Unix socket in the abstract
// namespace (SocketDir), which coordinators on this machine use.
const baseSettings = `
# Settings added by distgres.
listen_addresses = '127.0.0.1'
unix_socket_directories = '` + SocketDir + `'
max_connections = 200
shared_buffers = 128MB
max_prepared_transactions = 64
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
# Shard moves start a logical replication worker each; PostgreSQL 15's
# launcher starts at most one per wal_retrieve_retry_interval (default 5s).
wal_retrieve_retry_interval = 200ms
max_logical_replication_workers = 8
# Fragments over unions of shards get row estimates far above the truth,
# and JIT-compiling them cost more than running them (48 of 187 ms in a
# colocated join over 300k rows).
jit = off
`

// fastSettings are appended after baseSettings when InitOptions.Fast is set.
const fastSettings = `fsync = off
synchronous_commit = off
full_page_writes = off
min_wal_size = 4MB
shared_buffers = 32MB
`

// InitDB creates a new PostgreSQL data directory at dir with initdb (trust
// authentication, superuser "postgres", UTF8, locale C) and appends the
// settings distgres needs to its postgresql.conf.
//
// dir must not exist or be empty. Missing parent directories are created
// with mode 0755. When running as root, dir is owned by, and initdb runs as,
// the OS user "postgres", and every parent of dir must be traversable by that
// user; otherwise InitDB fails before running initdb.
func InitDB(ctx context.Context, bin Binaries, dir string, opts InitOptions) error {
	logger := loggerOrDiscard(opts.Logger)
	acct, err := serverAccount()
	if err != nil {
		return err
	}
	dir, err = prepareDataDir(dir, acct)
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}

	args := []string{
		"-D", dir,
		"-A", "trust",
		"-U", "postgres",
		"--encoding=UTF8",
		"--locale=C",
	}
	if opts.NoSync {
		args = append(args, "--no-sync")
	}
	if opts.Fast {
		// 1 MB WAL segments: a test template copied per node is a few MB
		// smaller to copy.
		args = append(args, "--wal-segsize=1")
	}
	cmd := exec.CommandContext(ctx, bin.Path("initdb"), args...)
	cmd.Dir = "/" // the current directory may be unreadable by the postgres user
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	acct.apply(cmd, false)

	start := time.Now()
	logger.Debug("running initdb", "dir", dir, "bin", bin.Dir)
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("initdb %s: %w; output:\n%s", dir, err, lastLines(out.String(), initDBOutputLines))
	}

	if err := appendSettings(dir, opts); err != nil {
		return fmt.Errorf("initdb %s: %w", dir, err)
	}
	logger.Info("initialized data directory", "dir", dir, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// appendSettings adds our settings to dir/postgresql.conf. Later lines in
// postgresql.conf override earlier ones, so appending is enough.
func appendSettings(dir string, opts InitOptions) error {
	settings := baseSettings + parallelSettings(runtime.NumCPU(), opts.SharedBy)
	if opts.Fast {
		settings += fastSettings
	}
	path := filepath.Join(dir, "postgresql.conf")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("appending settings: %w", err)
	}
	if _, err := f.WriteString(settings); err != nil {
		f.Close()
		return fmt.Errorf("appending settings to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("appending settings to %s: %w", path, err)
	}
	return nil
}

// loggerOrDiscard returns l, or a logger that drops everything if l is nil.
func loggerOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
