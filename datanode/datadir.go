package datanode

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// dataDirMode is the mode PostgreSQL requires for a data directory.
const dataDirMode = 0o700

// createdDirMode is the mode of parent directories we create on the way to
// a data directory; they must be traversable by the server's OS user.
const createdDirMode = 0o755

// prepareDataDir makes dir an empty directory with mode 0700 owned by acct,
// creating missing parents (mode 0755) as needed, and checks that acct can
// reach it. It returns the absolute path of dir.
func prepareDataDir(dir string, acct *account) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return "", fmt.Errorf("data directory %s exists and is not a directory", abs)
		}
		empty, err := isEmptyDir(abs)
		if err != nil {
			return "", err
		}
		if !empty {
			return "", fmt.Errorf("data directory %s already exists and is not empty", abs)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := mkdirParents(filepath.Dir(abs)); err != nil {
			return "", err
		}
		if err := os.Mkdir(abs, dataDirMode); err != nil {
			return "", fmt.Errorf("creating data directory: %w", err)
		}
	default:
		return "", fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(abs, dataDirMode); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if err := acct.chown(abs); err != nil {
		return "", err
	}
	if err := acct.checkTraversable(filepath.Dir(abs)); err != nil {
		return "", err
	}
	return abs, nil
}

// mkdirParents is os.MkdirAll that gives every directory it creates mode
// 0755 regardless of the umask, so the server's OS user can traverse it.
// Existing directories are left alone.
func mkdirParents(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirParents(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, createdDirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created concurrently by someone else
		}
		return fmt.Errorf("creating directory: %w", err)
	}
	if err := os.Chmod(dir, createdDirMode); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("data directory: %w", err)
	}
	defer f.Close()
	_, err = f.ReadDir(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("data directory %s: %w", dir, err)
	}
	return false, nil
}
