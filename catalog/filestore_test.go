package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func openStore(t *testing.T, path string) *FileStore {
	t.Helper()
	st, err := OpenFileStore(path)
	if err != nil {
		t.Fatalf("OpenFileStore: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func storeApply(t *testing.T, st Store, cmds ...Command) *Snapshot {
	t.Helper()
	var snap *Snapshot
	for _, cmd := range cmds {
		var err error
		if snap, err = st.Apply(context.Background(), cmd); err != nil {
			t.Fatalf("Apply(%#v): %v", cmd, err)
		}
	}
	return snap
}

func TestFileStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	st := openStore(t, path)
	if v := st.Snapshot().Version(); v != 0 {
		t.Fatalf("new store at version %d", v)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening created the file: %v", err)
	}
	snap := storeApply(t, st,
		AddNode{Name: "dn1", Host: "h1", Port: 5432},
		AddNode{Name: "dn2", Host: "h2", Port: 5432},
		hashTable("orders", OIDInt8, 4),
		CreateTable{Schema: "public", Name: "countries", Method: MethodReplication},
	)
	if st.Snapshot() != snap {
		t.Errorf("Snapshot() is not the snapshot Apply returned")
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reopened := openStore(t, path)
	if got := reopened.Snapshot(); !reflect.DeepEqual(got, snap) {
		t.Errorf("reopened catalog differs:\n got %#v\nwant %#v", got, snap)
	}
	// The counters persist, so new shards continue after the old ones.
	next := storeApply(t, reopened, hashTable("items", OIDInt4, 1))
	if sh := mustTable(t, next, "public", "items").Shards[0]; sh.ID != FirstShardID+5 {
		t.Errorf("new shard ID %d, want %d", sh.ID, FirstShardID+5)
	}

	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the catalog file", len(entries))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var header struct{ Format int }
	if err := json.Unmarshal(data, &header); err != nil || header.Format != SnapshotFormat {
		t.Errorf("file format field = %d, %v", header.Format, err)
	}
}

func TestFileStoreFailedApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	st := openStore(t, path)
	before := storeApply(t, st, AddNode{Name: "dn1", Host: "h1", Port: 5432})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := st.Apply(context.Background(), AddNode{Name: "dn1", Host: "h2", Port: 1}); !errors.Is(err, ErrNodeExists) {
		t.Errorf("duplicate AddNode error = %v, want ErrNodeExists", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Apply(ctx, AddNode{Name: "dn2", Host: "h2", Port: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with canceled context error = %v", err)
	}
	if st.Snapshot() != before {
		t.Errorf("failed Apply changed the snapshot")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(data) {
		t.Errorf("failed Apply changed the file")
	}

	st.Close()
	if _, err := st.Apply(context.Background(), AddNode{Name: "dn2", Host: "h2", Port: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close error = %v, want ErrClosed", err)
	}
	if st.Snapshot() != before {
		t.Errorf("Snapshot after Close changed")
	}
}

func TestFileStoreWriteFailure(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "missing-dir", "catalog.json"))
	_, err := st.Apply(context.Background(), AddNode{Name: "dn1", Host: "h1", Port: 5432})
	if err == nil || !strings.Contains(err.Error(), "missing-dir") {
		t.Fatalf("Apply into a missing directory error = %v", err)
	}
	if st.Snapshot().Version() != 0 {
		t.Errorf("snapshot published although the write failed")
	}
}

func TestOpenFileStoreDamaged(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr error
	}{
		{name: "empty file", content: ""},
		{name: "not json", content: "catalog v1\n"},
		{name: "truncated", content: `{"format":1,"version":3,"nodes":[`},
		{name: "unknown format", content: `{"format":7,"version":3}`, wantErr: ErrSnapshotFormat},
		{name: "no format", content: `{"version":3}`, wantErr: ErrSnapshotFormat},
		{name: "inconsistent", content: `{"format":1,"version":1,"next_node_id":1,"nodes":[{"id":1,"name":"a","host":"h","port":1,"state":"active"}],"tables":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "catalog.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := OpenFileStore(path)
			if err == nil {
				st.Close()
				t.Fatalf("OpenFileStore succeeded on %q", tc.content)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not mention %s", err, path)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestOpenFileStoreUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be cannot be read as one.
	if _, err := OpenFileStore(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("OpenFileStore(directory) error = %v", err)
	}
}

func TestFileStoreConcurrentReaders(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "catalog.json"))
	storeApply(t, st, AddNode{Name: "dn1", Host: "h1", Port: 5432})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := st.Snapshot()
				v := s.Version()
				if v < last {
					t.Errorf("version went back from %d to %d", last, v)
					return
				}
				last = v
				for _, tbl := range s.Tables() {
					_ = tbl.ShardIndexForHash(0)
				}
			}
		})
	}
	var appliers sync.WaitGroup
	for i := range 4 {
		appliers.Go(func() {
			for j := range 5 {
				cmd := hashTable(string(rune('a'+i))+string(rune('a'+j)), OIDInt4, 2)
				if _, err := st.Apply(context.Background(), cmd); err != nil {
					t.Errorf("Apply: %v", err)
				}
			}
		})
	}
	appliers.Wait()
	close(stop)
	wg.Wait()
	if got := len(st.Snapshot().Tables()); got != 20 {
		t.Errorf("%d tables after concurrent applies, want 20", got)
	}
	if v := st.Snapshot().Version(); v != 21 {
		t.Errorf("version %d, want 21", v)
	}
}
