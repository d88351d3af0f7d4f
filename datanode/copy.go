package datanode

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// LogFileName is the file inside a data directory that receives the
// server's stdout and stderr.
const LogFileName = "postgresql.log"

// copySkip lists top-level files of a data directory that CopyDataDir does
// not copy: the lock file, the last command line and our log file.
func copySkip(name string) bool {
	switch name {
	case "postmaster.pid", "postmaster.opts", LogFileName:
		return true
	}
	return false
}

// CopyDataDir copies the stopped data directory src (typically a template
// made once with InitDB) to dst, which must not exist or be empty. File
// modes are preserved; when running as root everything in dst is owned by
// the OS user "postgres". The lock file postmaster.pid, postmaster.opts and
// the server log are not copied. CopyDataDir refuses to copy a directory
// whose server is running.
func CopyDataDir(src, dst string) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("copy data directory: %w", err)
	}
	if pid, _, ok := Running(src); ok {
		return fmt.Errorf("copy data directory: %s is in use by running postgres (pid %d); stop it first", src, pid)
	}
	if fi, err := os.Stat(src); err != nil {
		return fmt.Errorf("copy data directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("copy data directory: %s is not a directory", src)
	}
	acct, err := serverAccount()
	if err != nil {
		return err
	}
	dst, err = prepareDataDir(dst, acct)
	if err != nil {
		return fmt.Errorf("copy data directory: %w", err)
	}
	if err := copyTree(src, dst, acct); err != nil {
		return fmt.Errorf("copy data directory %s to %s: %w", src, dst, err)
	}
	return nil
}

// copyTree copies the contents of src into the existing directory dst.
// Directories and symlinks are created during the walk; regular files are
// copied by a few workers in parallel, since creating the roughly thousand
// small files of a data directory dominates the cost.
func copyTree(src, dst string, acct *account) error {
	type job struct{ src, dst string }
	jobs := make(chan job)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	setErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for range min(max(runtime.GOMAXPROCS(0), 2), 8) {
		wg.Go(func() {
			for j := range jobs {
				if err := copyFile(j.src, j.dst, acct); err != nil {
					setErr(err)
				}
			}
		})
	}

	walkErr := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if failed() {
			return fs.SkipAll
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil // dst itself already exists
		}
		if filepath.Dir(rel) == "." && copySkip(rel) {
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.Type().IsRegular() {
			jobs <- job{src: path, dst: target}
			return nil
		}
		return copyEntry(path, target, d, acct)
	})
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		return walkErr
	}
	return firstErr
}

// copyEntry copies one directory, regular file or symlink.
func copyEntry(src, dst string, d fs.DirEntry, acct *account) error {
	switch {
	case d.Type().IsDir():
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Mkdir(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		return acct.chown(dst)
	case d.Type().IsRegular():
		return copyFile(src, dst, acct)
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return acct.chown(dst)
	default:
		return fmt.Errorf("%s: unsupported file type %v", src, d.Type())
	}
}

// copyFile copies a regular file with its permission bits. On Linux
// io.Copy between files uses copy_file_range, so no data passes through
// user space.
func copyFile(src, dst string, acct *account) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	if acct != nil {
		if err := out.Chown(acct.uid, acct.gid); err != nil {
			return fmt.Errorf("chown %s to %s: %w", dst, acct.name, err)
		}
	}
	return nil
}
