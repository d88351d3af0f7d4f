package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// FileStore is a Store that keeps the catalog of a single coordinator in a
// JSON file. Every Apply rewrites the file atomically before the new
// snapshot becomes visible.
//
// FileStore does not lock the file: two processes must not open the same
// path.
type FileStore struct {
	path    string
	current atomic.Pointer[Snapshot]

	mu     sync.Mutex // serializes Apply and Close
	closed bool
}

var _ Store = (*FileStore)(nil)

// OpenFileStore opens the catalog stored at path. A missing file is an empty
// catalog; the file is created by the first Apply.
func OpenFileStore(path string) (*FileStore, error) {
	snap, err := readSnapshotFile(path)
	if err != nil {
		return nil, err
	}
	st := &FileStore{path: path}
	st.current.Store(snap)
	return st, nil
}

// Path returns the file the store writes.
func (st *FileStore) Path() string {
	return st.path
}

// Snapshot returns the current catalog. It never blocks.
func (st *FileStore) Snapshot() *Snapshot {
	return st.current.Load()
}

// Apply applies cmd to the current catalog, writes the result to the file
// and only then publishes it. If writing fails the published catalog is
// unchanged; only if the final directory sync fails can the file already
// hold the new catalog that Apply reported as failed.
func (st *FileStore) Apply(ctx context.Context, cmd Command) (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	next, err := ApplyCommand(st.current.Load(), cmd)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("catalog: encode %s: %w", st.path, err)
	}
	if err := writeFileAtomic(st.path, append(data, '\n')); err != nil {
		return nil, err
	}
	st.current.Store(next)
	return next, nil
}

// Close makes later Apply calls fail; Snapshot keeps working.
func (st *FileStore) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	return nil
}

func readSnapshotFile(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewSnapshot(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	snap := new(Snapshot)
	if err := json.Unmarshal(data, snap); err != nil {
		return nil, fmt.Errorf("catalog: damaged catalog file %s: %w", path, err)
	}
	return snap, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content: it writes and syncs a temporary file in the same
// directory, renames it over path and syncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("catalog: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("catalog: write %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
