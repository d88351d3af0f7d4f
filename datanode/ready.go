package datanode

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// readyPollInterval is the pause between connection attempts while a
	// server starts.
	readyPollInterval = 50 * time.Millisecond
	// readyAttemptTimeout bounds a single connection attempt.
	readyAttemptTimeout = 2 * time.Second
	// startupLogLines is how many log lines a startup error includes.
	startupLogLines = 10
)

// waitReady polls until p, the postmaster of s's data directory, reports
// in postmaster.pid that it accepts connections and a connection as user
// postgres to database postgres on port succeeds; or until p exits or ctx
// is done. Consulting postmaster.pid first makes sure we do not mistake
// another server on the same port for ours. logOffset is where this run's
// output starts in the log file.
func (s *Server) waitReady(ctx context.Context, p *process, port int, logOffset int64) error {
	t := time.NewTicker(readyPollInterval)
	defer t.Stop()
	var lastErr error
	for {
		if p.exited() {
			return s.startupFailure(p, port, logOffset)
		}
		if lastErr = s.checkReady(ctx, p, port); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres for %s (pid %d) did not accept connections on port %d: %w (last attempt: %v); last log lines:\n%s",
				s.dir, p.pid, port, ctx.Err(), lastErr, lastLines(readLogSince(s.LogPath(), logOffset), startupLogLines))
		case <-p.done: // nil for adopted processes: never ready
		case <-t.C:
		}
	}
}

// checkReady makes one readiness check; see waitReady.
func (s *Server) checkReady(ctx context.Context, p *process, port int) error {
	lock, err := readPIDFile(s.dir)
	if err != nil {
		return err
	}
	if lock.pid != p.pid || lock.port != port {
		return fmt.Errorf("%s names pid %d port %d, not pid %d port %d", pidFileName, lock.pid, lock.port, p.pid, port)
	}
	if !lock.accepting() {
		return fmt.Errorf("postmaster status %q", lock.status)
	}
	attemptCtx, cancel := context.WithTimeout(ctx, readyAttemptTimeout)
	defer cancel()
	connString := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", port)
	conn, err := pgconn.Connect(attemptCtx, connString)
	if err != nil {
		return err
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
	defer cancelClose()
	_ = conn.Close(closeCtx)
	return nil
}

// startupFailure explains why postgres exited before accepting connections.
func (s *Server) startupFailure(p *process, port int, logOffset int64) error {
	log := readLogSince(s.LogPath(), logOffset)
	if p.cmd != nil && (strings.Contains(log, "Address already in use") ||
		strings.Contains(log, "could not bind") && PortInUse(port)) {
		return &portInUseError{port: port}
	}
	status := "exited"
	if err := p.exitErr(); err != nil {
		status = "exited (" + err.Error() + ")"
	}
	return fmt.Errorf("postgres for %s %s during startup; last log lines:\n%s",
		s.dir, status, lastLines(log, startupLogLines))
}
