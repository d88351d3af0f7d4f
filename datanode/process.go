package datanode

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// exitPollInterval is how often we check whether an adopted process (one we
// cannot wait(2) for) has exited.
const exitPollInterval = 20 * time.Millisecond

// process is a running postmaster: either our child (cmd != nil) or one
// adopted from a previous incarnation of our process.
type process struct {
	pid int
	cmd *exec.Cmd // nil for adopted processes

	done    chan struct{} // closed when cmd.Wait returns; nil if adopted
	waitErr error         // result of cmd.Wait; read only after done is closed
}

// startProcess starts cmd and begins waiting for it in the background.
func startProcess(cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// adoptProcess wraps a postmaster we did not start.
func adoptProcess(pid int) *process {
	return &process{pid: pid}
}

// exited reports whether the process has terminated.
func (p *process) exited() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	return !processAlive(p.pid)
}

// exitErr describes how the process ended: the wait status for children,
// nil for adopted processes or clean exits. Only valid once exited.
func (p *process) exitErr() error {
	if p.done == nil {
		return nil
	}
	<-p.done
	return p.waitErr
}

// wait blocks until the process exits (returning nil) or ctx is done
// (returning ctx.Err()).
func (p *process) wait(ctx context.Context) error {
	if p.done != nil {
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t := time.NewTicker(exitPollInterval)
	defer t.Stop()
	for {
		if !processAlive(p.pid) {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitFor is wait with a timeout instead of a context.
func (p *process) waitFor(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.wait(ctx)
}

// signal sends sig to the postmaster only. A process that is already gone
// is not an error.
func (p *process) signal(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// kill sends SIGKILL to the postmaster's process group (it is the group
// leader because we start it with Setpgid), taking its backends down too,
// and to the postmaster itself in case it leads no group.
func (p *process) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
}
