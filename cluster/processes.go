package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"strings"
	"syscall"
	"time"

	"github.com/distgres/distgres/datanode"
)

// ReadyPrefix starts the line `distgres coordinator` prints on stdout once
// it serves clients: "coordinator ID ready: client URL raft ADDR".
const ReadyPrefix = "coordinator "

// CoordinatorProcess is a `distgres coordinator` child process.
type CoordinatorProcess struct {
	ID        string
	PID       int
	ClientURL string
	RaftAddr  string
	// Args are the arguments it was started with (after the binary), so
	// a user can start it again by hand.
	Args []string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Done is closed when the process has exited.
func (p *CoordinatorProcess) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, once Done is closed.
func (p *CoordinatorProcess) Err() error { return p.err }

// Stop asks the process to stop (SIGTERM) and waits; it is killed if it
// has not stopped by the time ctx ends.
func (p *CoordinatorProcess) Stop(ctx context.Context) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cmd.Process.Kill()
		<-p.done
	}
}

// SpawnCoordinators starts n coordinator processes of the binary bin for
// the cluster in dir: coordinator i listens for clients on basePort+i, the
// first bootstraps the group and the others join it. extra arguments are
// passed to every one. It returns once all of them serve clients.
func SpawnCoordinators(ctx context.Context, bin, dir string, lay *Layout, data *DataNodes, n, basePort int, extra []string, out io.Writer) ([]*CoordinatorProcess, error) {
	var procs []*CoordinatorProcess
	stopAll := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		for _, p := range procs {
			p.Stop(sctx)
		}
	}
	var nodeArgs []string
	for _, a := range data.Addrs() {
		nodeArgs = append(nodeArgs, "--node", fmt.Sprintf("%s=%s:%d", a.Name, a.Host, a.Port))
	}
	first := ""
	ready := make(chan error, n)
	for i := range n {
		e := lay.CoordinatorEntry(i)
		port := basePort + i
		if datanode.PortInUse(port) {
			stopAll()
			return nil, fmt.Errorf("port %d is already in use", port)
		}
		if e.RaftPort == 0 || datanode.PortInUse(e.RaftPort) {
			p, err := datanode.FreePort()
			if err != nil {
				stopAll()
				return nil, err
			}
			e.RaftPort = p
		}
		e.Port = port
		raftAddr := fmt.Sprintf("127.0.0.1:%d", e.RaftPort)
		args := []string{"coordinator", "--id", e.ID, "--data", filepath.Join(dir, e.ID),
			"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--raft-addr", raftAddr}
		if first != "" {
			args = append(args, "--join", first)
		} else {
			first = raftAddr
		}
		args = append(append(args, nodeArgs...), extra...)
		p, err := startCoordinatorProcess(bin, e.ID, args, out, ready)
		if err != nil {
			stopAll()
			return nil, err
		}
		procs = append(procs, p)
	}
	if err := WriteLayout(dir, lay); err != nil {
		stopAll()
		return nil, err
	}
	timeout := time.After(2 * time.Minute)
	for range n {
		select {
		case err := <-ready:
			if err != nil {
				stopAll()
				return nil, err
			}
		case <-timeout:
			stopAll()
			return nil, fmt.Errorf("coordinators did not start within 2 minutes")
		case <-ctx.Done():
			stopAll()
			return nil, ctx.Err()
		}
	}
	return procs, nil
}

func startCoordinatorProcess(bin, id string, args []string, out io.Writer, ready chan<- error) (*CoordinatorProcess, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting coordinator %s: %w", id, err)
	}
	p := &CoordinatorProcess{ID: id, PID: cmd.Process.Pid, Args: args, cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled && strings.HasPrefix(line, ReadyPrefix+id+" ready:") {
				f := strings.Fields(line)
				for j := 0; j+1 < len(f); j++ {
					switch f[j] {
					case "client":
						p.ClientURL = f[j+1]
					case "raft":
						p.RaftAddr = f[j+1]
					}
				}
				signalled = true
				ready <- nil
				continue
			}
			fmt.Fprintln(out, line)
		}
		// Wait only after stdout has been read to its end.
		p.err = cmd.Wait()
		close(p.done)
		if !signalled {
			ready <- fmt.Errorf("coordinator %s exited before it was ready: %v", id, p.err)
		}
	}()
	return p, nil
}
