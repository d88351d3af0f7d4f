package datanode

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Shutdown timing used by Server.Stop.
const (
	// defaultStopGrace is the longest Stop waits for a fast shutdown
	// (SIGINT) before escalating, unless its context ends sooner.
	defaultStopGrace = 30 * time.Second
	// defaultQuitGrace is how long Stop waits after SIGQUIT (immediate
	// shutdown).
	defaultQuitGrace = 5 * time.Second
	// defaultKillGrace is how long Stop waits after SIGKILL.
	defaultKillGrace = 5 * time.Second
)

// Server manages the postgres process of one data directory.
//
// The server's stdout and stderr are appended to LogFileName
// ("postgresql.log") inside the data directory, so the log travels with the
// node and survives restarts of our own process. postgres runs in its own
// process group, so a Ctrl-C in our terminal reaches only us, and we decide
// how to shut the node down.
//
// Start, Stop and Adopt are serialized; Port, Dir, URL and PID may be called
// concurrently with anything.
type Server struct {
	bin    Binaries
	dir    string
	logger *slog.Logger

	// Shutdown escalation timing; the defaults come from the constants
	// above, tests shorten them.
	stopGrace, quitGrace, killGrace time.Duration

	life sync.Mutex // serializes Start, Stop and Adopt

	mu   sync.Mutex // guards the fields below
	port int
	proc *process // nil when not started or stopped
}

// NewServer returns a Server for the data directory dir. It does not touch
// the directory. A nil logger discards log output.
func NewServer(bin Binaries, dir string, logger *slog.Logger) *Server {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Server{
		bin:       bin,
		dir:       dir,
		logger:    loggerOrDiscard(logger).With("datadir", dir),
		stopGrace: defaultStopGrace,
		quitGrace: defaultQuitGrace,
		killGrace: defaultKillGrace,
	}
}

// Dir returns the absolute data directory.
func (s *Server) Dir() string { return s.dir }

// LogPath returns the file that receives the server's output.
func (s *Server) LogPath() string { return filepath.Join(s.dir, LogFileName) }

// Port returns the TCP port of the server last started or adopted, or 0.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// PID returns the process id of the postmaster, or 0 if s has none.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid
}

// URL returns a connection URL for the postgres database as the postgres
// superuser, e.g. postgres://postgres@127.0.0.1:5433/postgres.
func (s *Server) URL() string {
	return "postgres://postgres@" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())) + "/postgres"
}

func (s *Server) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

func (s *Server) setProc(p *process, port int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc = p
	if p != nil {
		s.port = port
	}
}

// Start validates the data directory, starts "postgres -D dir -p port" and
// waits until it accepts connections, until it exits, or until ctx is done
// (callers should give ctx a deadline; crash recovery can make startup
// slow). ctx bounds only the startup: the server keeps running afterwards.
//
// Start fails with an error matching ErrPortInUse ("port 5433 is already in
// use") if the port is taken, and refuses to start when a postmaster is
// already running on dir (see Adopt). If postgres exits during startup, the
// error includes the last lines of its log. On failure no process is left
// running.
func (s *Server) Start(ctx context.Context, port int) error {
	s.life.Lock()
	defer s.life.Unlock()

	if p := s.current(); p != nil && !p.exited() {
		return fmt.Errorf("postgres for %s is already running (pid %d)", s.dir, p.pid)
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("start postgres for %s: invalid port %d", s.dir, port)
	}
	if err := s.bin.Validate(s.dir); err != nil {
		return err
	}
	if pid, runningPort, ok := Running(s.dir); ok {
		return fmt.Errorf("data directory %s is already in use by postgres (pid %d, port %d); adopt it instead of starting it",
			s.dir, pid, runningPort)
	}
	if PortInUse(port) {
		return &portInUseError{port: port}
	}
	return s.launch(ctx, port)
}

// launch starts postgres and waits for it to become ready.
func (s *Server) launch(ctx context.Context, port int) error {
	acct, err := serverAccount()
	if err != nil {
		return err
	}
	logPath := s.LogPath()
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start postgres: opening log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	if err := acct.chown(logPath); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	fi, err := logFile.Stat()
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	logOffset := fi.Size()

	// Not exec.CommandContext: ctx bounds the startup, not the server's life.
	cmd := exec.Command(s.bin.Path("postgres"), "-D", s.dir, "-p", strconv.Itoa(port))
	cmd.Dir = "/"
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	acct.apply(cmd, true)

	start := time.Now()
	p, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("start postgres for %s: %w", s.dir, err)
	}
	s.setProc(p, port)
	s.logger.Debug("postgres started, waiting for connections", "pid", p.pid, "port", port)

	if err := s.waitReady(ctx, p, port, logOffset); err != nil {
		s.abort(p)
		s.setProc(nil, 0)
		return err
	}
	s.logger.Info("postgres ready", "pid", p.pid, "port", port, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// abort brings down a postmaster whose startup failed.
func (s *Server) abort(p *process) {
	if p.exited() {
		return
	}
	_ = p.signal(syscall.SIGQUIT)
	if p.waitFor(s.quitGrace) == nil {
		return
	}
	p.kill()
	_ = p.waitFor(s.killGrace)
}

// Adopt takes over a postmaster already running on the data directory,
// typically one left behind when our own process was killed. It returns
// false (and no error) if none is running. After a successful Adopt, Port
// reports the server's port and Stop stops it by signalling its pid.
//
// Adopt waits, bounded by ctx, until the adopted server accepts
// connections. If it does not, Adopt returns true with an error and s keeps
// managing the process, so Stop can still stop it; if it exits meanwhile,
// Adopt returns false with an error.
func (s *Server) Adopt(ctx context.Context) (bool, error) {
	s.life.Lock()
	defer s.life.Unlock()

	if p := s.current(); p != nil && !p.exited() {
		return false, fmt.Errorf("adopt %s: already managing postgres (pid %d)", s.dir, p.pid)
	}
	pid, port, ok := Running(s.dir)
	if !ok {
		return false, nil
	}
	p := adoptProcess(pid)
	s.setProc(p, port)
	s.logger.Info("adopting running postgres", "pid", pid, "port", port)
	if err := s.waitReady(ctx, p, port, 0); err != nil {
		if p.exited() {
			s.setProc(nil, 0)
			return false, fmt.Errorf("adopt: %w", err)
		}
		return true, fmt.Errorf("adopt: %w", err)
	}
	return true, nil
}

// Stop shuts the server down: SIGINT (fast shutdown: abort open
// transactions, checkpoint, exit) and a wait of up to 30 s or until ctx is
// done, then SIGQUIT (immediate shutdown; the next start runs crash
// recovery) and finally SIGKILL to the process group. Stop returns nil after
// a clean fast shutdown, and an error describing the escalation otherwise
// (wrapping ctx.Err() if ctx ended the wait); unless the error says the
// process survived SIGKILL, the server is stopped when Stop returns.
// Stopping a server that is not running is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()

	p := s.current()
	if p == nil {
		return nil
	}
	err := s.terminate(ctx, p)
	if p.exited() {
		s.setProc(nil, 0)
	}
	return err
}

func (s *Server) terminate(ctx context.Context, p *process) error {
	if p.exited() {
		s.logger.Debug("postgres already exited", "pid", p.pid, "status", p.exitErr())
		return nil
	}
	s.logger.Info("stopping postgres", "pid", p.pid)
	if err := p.signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("stop postgres for %s (pid %d): %w", s.dir, p.pid, err)
	}
	graceCtx, cancel := context.WithTimeout(ctx, s.stopGrace)
	err := p.wait(graceCtx)
	cancel()
	if err == nil {
		s.logger.Info("postgres stopped", "pid", p.pid)
		return nil
	}
	reason := ctx.Err()
	if reason == nil {
		reason = fmt.Errorf("fast shutdown did not finish within %v", s.stopGrace)
	}

	s.logger.Warn("postgres did not stop after SIGINT; sending SIGQUIT", "pid", p.pid, "reason", reason)
	if err := p.signal(syscall.SIGQUIT); err != nil {
		return fmt.Errorf("stop postgres for %s (pid %d): %w", s.dir, p.pid, err)
	}
	if p.waitFor(s.quitGrace) == nil {
		return fmt.Errorf("postgres for %s (pid %d) needed an immediate shutdown (SIGQUIT): %w", s.dir, p.pid, reason)
	}

	s.logger.Warn("postgres did not stop after SIGQUIT; sending SIGKILL", "pid", p.pid)
	p.kill()
	if p.waitFor(s.killGrace) == nil {
		return fmt.Errorf("postgres for %s (pid %d) had to be killed (SIGKILL): %w", s.dir, p.pid, reason)
	}
	return fmt.Errorf("postgres for %s (pid %d) did not exit after SIGKILL", s.dir, p.pid)
}
