package datanode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidFileName is the lock file postgres keeps in its data directory.
const pidFileName = "postmaster.pid"

// Running reports whether a postmaster is running on the data directory dir,
// according to dir/postmaster.pid (line 1: pid, line 4: port). The pid must
// be alive and, where /proc is available, be a postgres process whose
// working directory is dir. A stale postmaster.pid whose process is gone
// yields ok == false and is left in place; postgres removes it itself on the
// next start.
func Running(dir string) (pid, port int, ok bool) {
	lock, err := readPIDFile(dir)
	if err != nil || !processAlive(lock.pid) || !isPostmasterOf(lock.pid, dir) {
		return 0, 0, false
	}
	return lock.pid, lock.port, true
}

// pidFile is the content of postmaster.pid that we use.
type pidFile struct {
	pid    int
	port   int
	status string // "starting", "stopping", "ready", "standby" or ""
}

// accepting reports whether the postmaster says it accepts connections.
func (f pidFile) accepting() bool {
	return f.status == "ready" || f.status == "standby"
}

// readPIDFile parses dir/postmaster.pid: line 1 is the pid, line 4 the port
// and line 8 the postmaster status, which is written once startup has
// progressed far enough.
func readPIDFile(dir string) (pidFile, error) {
	data, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil {
		return pidFile{}, err
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return pidFile{}, fmt.Errorf("%s: too short", pidFileName)
	}
	var f pidFile
	f.pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || f.pid <= 0 { // a negative pid marks a single-user backend
		return pidFile{}, fmt.Errorf("%s: bad pid line %q", pidFileName, lines[0])
	}
	f.port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || f.port <= 0 {
		return pidFile{}, fmt.Errorf("%s: bad port line %q", pidFileName, lines[3])
	}
	if len(lines) > 7 {
		f.status = strings.TrimSpace(lines[7])
	}
	return f, nil
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true // no /proc: trust kill(2)
	}
	// Format: "pid (comm) state ..."; comm may contain spaces and parens.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// isPostmasterOf reports whether pid looks like a postgres process serving
// dir. Without /proc (or without permission to inspect pid) it gives the
// benefit of the doubt.
func isPostmasterOf(pid int, dir string) bool {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
	if err != nil {
		return !dirExists("/proc/self")
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	name := filepath.Base(string(argv0))
	if !strings.HasPrefix(name, "postgres") && !strings.HasPrefix(name, "postmaster") {
		return false
	}
	// The postmaster runs with its data directory as working directory.
	cwd, err := os.Readlink(filepath.Join(proc, "cwd"))
	if err != nil {
		return true
	}
	return sameDir(cwd, dir)
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// sameDir reports whether a and b name the same existing directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
