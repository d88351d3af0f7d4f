package datanode

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// crashHelperEnv, when set to "DIR PORT", makes TestCrashHelper start a
// server and then block until it is killed.
const crashHelperEnv = "DATANODE_TEST_CRASH_HELPER"

// TestCrashHelper is not a real test: TestAdoptAfterCrash runs the test
// binary with only this test selected, as a stand-in for a distgres process
// that starts a data node and is then killed with SIGKILL.
func TestCrashHelper(t *testing.T) {
	spec := os.Getenv(crashHelperEnv)
	if spec == "" {
		t.Skip("helper process for TestAdoptAfterCrash")
	}
	var dir string
	var port int
	if _, err := fmt.Sscan(spec, &dir, &port); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := NewServer(testBin, dir, nil).Start(ctx, port); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	select {} // wait for SIGKILL
}

func TestAdoptAfterCrash(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	port := freePort(t)
	// Whatever happens, do not leave postgres running.
	stopOnCleanup(t, NewServer(testBin, dir, nil))
	t.Cleanup(func() {
		if pid, _, ok := Running(dir); ok {
			p := adoptProcess(pid)
			p.kill()
			_ = p.waitFor(defaultKillGrace)
		}
	})

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir+" "+strconv.Itoa(port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "READY" {
	}
	if sc.Err() != nil || sc.Text() != "READY" {
		t.Fatalf("helper did not start a server: %v", sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	pid, runningPort, ok := Running(dir)
	if !ok || runningPort != port {
		t.Fatalf("after the crash Running = %d, %d, %v; want port %d", pid, runningPort, ok, port)
	}
	s := NewServer(testBin, dir, nil)
	stopOnCleanup(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ok, err := s.Adopt(ctx); !ok || err != nil {
		t.Fatalf("Adopt = %v, %v", ok, err)
	}
	if got := showSetting(t, ctx, s.URL(), "max_prepared_transactions"); got != "64" {
		t.Errorf("max_prepared_transactions = %q", got)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("postgres pid %d alive after Stop", pid)
	}
}
