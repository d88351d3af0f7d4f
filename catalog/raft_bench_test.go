package catalog

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkRaftApply measures one catalog change committed through Raft
// with the log on disk and fsync on (raft-boltdb syncs every append), for
// a single voter and for a group of three on loopback TCP. The directory
// is on the system temp directory, not tmpfs, so the fsync is real.
//
//	go test ./catalog -run '^$' -bench RaftApply -benchtime 200x
func BenchmarkRaftApply(b *testing.B) {
	for _, voters := range []int{1, 3} {
		b.Run(fmt.Sprintf("voters=%d", voters), func(b *testing.B) {
			ctx := context.Background()
			var stores []*RaftStore
			for i := range voters {
				dir, err := os.MkdirTemp("", "distgres-raft-bench-")
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { os.RemoveAll(dir) })
				join := ""
				if i > 0 {
					join = stores[0].RaftAddr()
				}
				st, err := OpenRaft(ctx, RaftOptions{ID: fmt.Sprintf("c%d", i), Dir: dir, RaftAddr: "127.0.0.1:0", Join: join})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				<-st.Registered()
				stores = append(stores, st)
			}
			if _, err := stores[0].Apply(ctx, AddNode{Name: "n", Host: "127.0.0.1", Port: 7000}); err != nil {
				b.Fatal(err)
			}
			states := []NodeState{NodeDraining, NodeActive}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := stores[0].Apply(ctx, SetNodeState{Name: "n", State: states[i%2]}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.Logf("voters=%d: %.0f µs per committed catalog change (fsync on)", voters, float64(time.Since(start).Microseconds())/float64(b.N))
		})
	}
}

// BenchmarkSnapshotRead measures what a query pays to see the catalog: one
// atomic load, from one goroutine and from all of them at once.
func BenchmarkSnapshotRead(b *testing.B) {
	st, err := OpenRaft(context.Background(), RaftOptions{ID: "a", Dir: b.TempDir(), RaftAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	<-st.Registered()
	b.Run("serial", func(b *testing.B) {
		var v uint64
		for i := 0; i < b.N; i++ {
			v += st.Snapshot().Version()
		}
		_ = v
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var v uint64
			for pb.Next() {
				v += st.Snapshot().Version()
			}
			_ = v
		})
	})
}
