package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
)

// GroupOptions configure StartGroup.
type GroupOptions struct {
	Nodes        int
	Coordinators int
	Shards       int
	// SnapshotThreshold and TrailingLogs tune Raft log compaction.
	SnapshotThreshold, TrailingLogs uint64
}

// Group is a cluster with several coordinators in the test process, each
// with its own Raft store on real loopback TCP.
type Group struct {
	Dir    string
	Data   *cluster.DataNodes
	Coords []*cluster.Coordinator // nil while stopped
	opts   []cluster.CoordinatorOptions
}

// StartGroup starts data nodes and opts.Coordinators coordinators: the
// first bootstraps the Raft group, the others join it. Everything stops
// when the test ends.
func StartGroup(tb testing.TB, opts GroupOptions) *Group {
	tb.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Coordinators == 0 {
		opts.Coordinators = 3
	}
	if opts.Shards == 0 {
		opts.Shards = 4
	}
	dir, data := StartDataNodes(tb, opts.Nodes)
	g := &Group{Dir: dir, Data: data}
	tb.Cleanup(func() {
		for i := range g.Coords {
			g.Stop(i)
		}
	})
	for i := range opts.Coordinators {
		o := cluster.CoordinatorOptions{
			ID: fmt.Sprintf("coord%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("coord%d", i+1)),
			Listen: freeAddr(tb), RaftAddr: freeAddr(tb), Nodes: data.Addrs(), Shards: opts.Shards,
			HeartbeatTimeout: 300 * time.Millisecond, ElectionTimeout: 300 * time.Millisecond,
			SnapshotThreshold: opts.SnapshotThreshold, TrailingLogs: opts.TrailingLogs,
			RecoveryInterval: time.Second, RecoveryGrace: 5 * time.Second,
		}
		if i > 0 {
			o.Join = g.opts[0].RaftAddr
		}
		g.opts = append(g.opts, o)
		g.Coords = append(g.Coords, nil)
		g.Start(tb, i)
	}
	return g
}

// StartDataNodes starts n data nodes (no coordinator) in a new cluster
// directory; they are stopped and removed when the test ends.
func StartDataNodes(tb testing.TB, n int) (string, *cluster.DataNodes) {
	tb.Helper()
	tpl := Template(tb)
	dir, err := os.MkdirTemp(baseDir, "group-")
	if err != nil {
		tb.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data, _, _, err := cluster.StartDataNodes(ctx, cluster.Options{Dir: dir, Nodes: n, Template: tpl, Fast: true})
	if err != nil {
		tb.Fatalf("harness: data nodes: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		data.Stop(ctx)
		os.RemoveAll(dir)
	})
	return dir, data
}

// FreeAddr returns a free loopback address.
func FreeAddr(tb testing.TB) string {
	return freeAddr(tb)
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Start starts (or restarts) coordinator i on its original addresses.
func (g *Group) Start(tb testing.TB, i int) *cluster.Coordinator {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var c *cluster.Coordinator
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		// A port released a moment ago may still be held by a closing
		// connection; try again briefly.
		if c, err = cluster.StartCoordinator(ctx, g.opts[i]); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("harness: coordinator %s: %v", g.opts[i].ID, err)
	}
	g.Coords[i] = c
	return c
}

// StartAll starts every stopped coordinator at once (a group that lost
// its quorum cannot register one after the other).
func (g *Group) StartAll(tb testing.TB) {
	tb.Helper()
	errs := make(chan error, len(g.Coords))
	for i := range g.Coords {
		if g.Coords[i] != nil {
			errs <- nil
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := cluster.StartCoordinator(ctx, g.opts[i])
			g.Coords[i] = c
			errs <- err
		}()
	}
	for range g.Coords {
		if err := <-errs; err != nil {
			tb.Fatalf("harness: starting coordinators: %v", err)
		}
	}
}

// Stop stops coordinator i (its Raft store and client listener).
func (g *Group) Stop(i int) {
	if g.Coords[i] != nil {
		g.Coords[i].Close()
		g.Coords[i] = nil
	}
}

// URL is coordinator i's client URL.
func (g *Group) URL(i int) string {
	return "postgres://postgres@" + g.opts[i].Listen + "/postgres?sslmode=disable"
}

// Leader returns the index of the running coordinator that leads the
// Raft group, waiting up to 15 seconds for one.
func (g *Group) Leader(tb testing.TB) int {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for i, c := range g.Coords {
			if c != nil && c.Store.IsLeader() {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("harness: no Raft leader among the running coordinators")
	return -1
}
