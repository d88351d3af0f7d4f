package datanode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Validate checks that dir looks like an intact data directory for b: it
// must contain PG_VERSION and global/pg_control, and the major version in
// PG_VERSION must match b's. Errors are one line and name the problem.
func (b Binaries) Validate(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s does not exist", dir)
	}
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s is damaged or not initialized: PG_VERSION is missing", dir)
	}
	if err != nil {
		return fmt.Errorf("data directory %s: reading PG_VERSION: %w", dir, err)
	}
	dataMajor, err := parseMajor(string(raw))
	if err != nil {
		return fmt.Errorf("data directory %s is damaged: PG_VERSION: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "global", "pg_control")); err != nil {
		return fmt.Errorf("data directory %s is damaged: global/pg_control is missing or unreadable", dir)
	}
	binMajor, err := b.MajorVersion()
	if err != nil {
		return err
	}
	if dataMajor != binMajor {
		return fmt.Errorf("data directory %s was initialized by PostgreSQL %d, but the binaries in %s are PostgreSQL %d",
			dir, dataMajor, b.Dir, binMajor)
	}
	return nil
}

// Validate checks the server's data directory; see Binaries.Validate.
func (s *Server) Validate() error {
	return s.bin.Validate(s.dir)
}
