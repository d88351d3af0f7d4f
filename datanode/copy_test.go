package datanode

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCopyDataDir(t *testing.T) {
	t.Parallel()
	src := newDataDir(t)
	for _, name := range []string{"postmaster.opts", LogFileName} {
		if err := os.WriteFile(filepath.Join(src, name), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(testRoot, "copy-"+filepath.Base(src), "nested")
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dst)) })
	if err := CopyDataDir(src, dst); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postmaster.opts", LogFileName} {
		if _, err := os.Stat(filepath.Join(dst, name)); err == nil {
			t.Errorf("%s was copied", name)
		}
	}
	if fi, err := os.Stat(filepath.Dir(dst)); err != nil || fi.Mode().Perm() != createdDirMode {
		t.Errorf("created parent: %v, %v", fi.Mode(), err)
	}
	acct, err := serverAccount()
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "postmaster.opts" || rel == LogFileName {
			return nil
		}
		sfi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		dfi, err := os.Lstat(filepath.Join(dst, rel))
		if err != nil {
			t.Errorf("%s not copied: %v", rel, err)
			return nil
		}
		files++
		if sfi.Mode() != dfi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, dfi.Mode(), sfi.Mode())
		}
		if sfi.Mode().IsRegular() && sfi.Size() != dfi.Size() {
			t.Errorf("%s: size %d, want %d", rel, dfi.Size(), sfi.Size())
		}
		if acct != nil && int(dfi.Sys().(*syscall.Stat_t).Uid) != acct.uid {
			t.Errorf("%s: not owned by %s", rel, acct.name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Errorf("only %d entries compared", files)
	}

	if err := CopyDataDir(src, dst); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy onto a non-empty directory: %v", err)
	}

	// The copy is a working data directory.
	s := NewServer(testBin, dst, nil)
	stopOnCleanup(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Start(ctx, freePort(t)); err != nil {
		t.Fatal(err)
	}
	if err := CopyDataDir(dst, filepath.Join(testRoot, "never-"+filepath.Base(src))); err == nil || !strings.Contains(err.Error(), "running postgres") {
		t.Errorf("copy of a running directory: %v", err)
	}
}

func TestInitDBUntraversableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only relevant when running as root")
	}
	t.Parallel()
	private, err := os.MkdirTemp(testRoot, "private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(private) })
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = InitDB(ctx, testBin, filepath.Join(private, "data"), InitOptions{NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "not traversable by the postgres user") || !strings.Contains(err.Error(), private) {
		t.Fatalf("InitDB under a 0700 root directory: %v", err)
	}
}
