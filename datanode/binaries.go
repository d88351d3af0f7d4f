package datanode

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BinDirEnv names the environment variable that, when set, selects the
// directory holding the PostgreSQL server binaries.
const BinDirEnv = "DISTGRES_PG_BINDIR"

// debianBinGlob matches the per-version binary directories of the Debian and
// Ubuntu postgresql packages.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// toolTimeout bounds short helper commands such as pg_config and
// postgres --version.
const toolTimeout = 10 * time.Second

// Binaries is a directory containing the PostgreSQL server programs
// (postgres, initdb, ...).
type Binaries struct {
	Dir string
}

// Path returns the full path of the named program in b.
func (b Binaries) Path(name string) string {
	return filepath.Join(b.Dir, name)
}

// FindBinaries locates the PostgreSQL server binaries. It tries, in order:
// the directory named by $DISTGRES_PG_BINDIR (which, if set, must be valid),
// the newest /usr/lib/postgresql/*/bin, the output of pg_config --bindir and
// finally $PATH. A directory qualifies only if it holds both postgres and
// initdb. The error wraps ErrBinariesNotFound.
func FindBinaries() (Binaries, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if hasServerBinaries(dir) {
			return Binaries{Dir: dir}, nil
		}
		return Binaries{}, fmt.Errorf("%w in %s=%s; install the postgresql package or point %s at the directory containing them",
			ErrBinariesNotFound, BinDirEnv, dir, BinDirEnv)
	}
	if dir, ok := newestDebianBinDir(); ok {
		return Binaries{Dir: dir}, nil
	}
	if dir, ok := pgConfigBinDir(); ok {
		return Binaries{Dir: dir}, nil
	}
	if dir, ok := pathBinDir(); ok {
		return Binaries{Dir: dir}, nil
	}
	return Binaries{}, fmt.Errorf("%w; install the postgresql package or set %s", ErrBinariesNotFound, BinDirEnv)
}

// hasServerBinaries reports whether dir holds executable postgres and initdb
// programs.
func hasServerBinaries(dir string) bool {
	return isExecutable(filepath.Join(dir, "postgres")) && isExecutable(filepath.Join(dir, "initdb"))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// newestDebianBinDir returns the /usr/lib/postgresql/VERSION/bin directory
// with the highest VERSION that holds the server binaries.
func newestDebianBinDir() (string, bool) {
	dirs, err := filepath.Glob(debianBinGlob)
	if err != nil {
		return "", false
	}
	version := func(dir string) []int {
		return parseVersion(filepath.Base(filepath.Dir(dir)))
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return slices.Compare(version(b), version(a)) // newest first
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, true
		}
	}
	return "", false
}

// parseVersion turns "15" or "9.6" into its numeric components; components
// that are not numbers count as zero.
func parseVersion(s string) []int {
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

// pgConfigBinDir asks pg_config (found on $PATH) for the binary directory.
func pgConfigBinDir() (string, bool) {
	pgConfig, err := exec.LookPath("pg_config")
	if err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
	if err != nil {
		return "", false
	}
	dir := string(bytes.TrimSpace(out))
	if dir == "" || !hasServerBinaries(dir) {
		return "", false
	}
	return dir, true
}

// pathBinDir looks for postgres on $PATH and accepts its directory if initdb
// sits next to it.
func pathBinDir() (string, bool) {
	postgres, err := exec.LookPath("postgres")
	if err != nil {
		return "", false
	}
	dir := filepath.Dir(postgres)
	if !hasServerBinaries(dir) {
		return "", false
	}
	return dir, true
}
