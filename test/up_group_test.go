package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// upFreePorts returns a port p such that p, p+1, ..., p+n-1 are free.
func upFreePorts(t *testing.T, n int) int {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		p := upFreePort(t)
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

var upGroupLineRE = regexp.MustCompile(`^coordinator (coord\d): pid (\d+), client (\S+), raft (\S+)$`)

// TestUpCoordinatorGroup runs `distgres up --coordinators 3` and uses psql
// on each coordinator: DDL on one is seen by the others, a kill -9 of the
// leader is survived, and stopping `up` stops every process it started.
func TestUpCoordinatorGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the distgres binary")
	}
	bin := upBuild(t)
	base, err := os.MkdirTemp("", "distgres-up-group-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "cluster")
	t.Cleanup(func() { upKillLeftovers(t, dir) })
	port := upFreePorts(t, 3)
	p := upStart(t, bin, dir, port, nil, "--coordinators", "3", "--nodes", "2", "--shards", "4")

	type member struct {
		pid       int
		url, raft string
	}
	members := map[string]member{}
	deadline := time.Now().Add(90 * time.Second)
	for len(members) < 3 {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("coordinators not listed:\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
		for _, line := range strings.Split(p.stdout.String(), "\n") {
			if m := upGroupLineRE.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[2])
				members[m[1]] = member{pid: pid, url: m[3], raft: m[4]}
			}
		}
	}
	for i, id := range []string{"coord1", "coord2", "coord3"} {
		if want := fmt.Sprintf("127.0.0.1:%d", port+i); !strings.Contains(members[id].url, want) {
			t.Errorf("%s client URL %s, want port %d", id, members[id].url, port+i)
		}
	}

	psqlExpect(t, "DDL and rows through coord2", psqlRun(t, members["coord2"].url, "-q",
		"-c", "CREATE TABLE grp_up (id int PRIMARY KEY, v text)",
		"-c", "INSERT INTO grp_up SELECT g, 'v' FROM generate_series(1, 50) g"), "")
	waitCount := func(url, sql, want string) {
		t.Helper()
		var r psqlResult
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if r = psqlRun(t, url, "-At", "-c", sql); r.code == 0 && r.stdout == want {
				return
			}
		}
		t.Fatalf("%s on %s: %q %s, want %q", sql, url, r.stdout, r.stderr, want)
	}
	waitCount(members["coord3"].url, "SELECT count(*) FROM grp_up", "50\n")
	waitCount(members["coord1"].url, "SELECT count(*) FROM distgres_cluster() WHERE voter", "3\n")

	r := psqlRun(t, members["coord3"].url, "-At", "-c", "SELECT member FROM distgres_cluster() WHERE is_leader")
	leader := strings.TrimSpace(r.stdout)
	lm, ok := members[leader]
	if !ok {
		t.Fatalf("leader %q (%s) is not one of the listed coordinators", leader, r.stderr)
	}
	if err := syscall.Kill(lm.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var other string
	for id := range members {
		if id != leader {
			other = id
		}
	}
	// A new leader is elected; DDL works again through a survivor.
	var ddl psqlResult
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ddl = psqlRun(t, members[other].url, "-q", "-c", "CREATE TABLE grp_up_after (id int PRIMARY KEY)"); ddl.code == 0 {
			break
		}
	}
	if ddl.code != 0 {
		t.Fatalf("DDL after killing the leader: %s", ddl.stderr)
	}
	waitCount(members[other].url, "SELECT count(*) FROM grp_up", "50\n")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "start it again with:"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("up did not report the killed coordinator:\n%s", p.stderr.String())
		}
	}

	upStopClean(t, p, dir)
	for id, m := range members {
		if id != leader && syscall.Kill(m.pid, 0) == nil {
			t.Errorf("coordinator %s (pid %d) still runs after up stopped", id, m.pid)
		}
	}
}
