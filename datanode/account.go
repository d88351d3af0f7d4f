package datanode

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// serverUser is the OS account PostgreSQL processes run as when we are root.
const serverUser = "postgres"

// account is the OS identity that initdb and postgres run under. A nil
// *account means "the current user" and makes every method a no-op.
type account struct {
	name   string
	uid    int
	gid    int
	groups []int // supplementary group ids, including gid
}

// serverAccount returns the account PostgreSQL processes must use: nil when
// the current process is not root, the "postgres" user otherwise.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, but OS user %q cannot be found (%w); PostgreSQL refuses to run as root: create the %s user or run as an unprivileged user",
			serverUser, err, serverUser)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user %s: bad uid %q: %w", serverUser, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %s: bad gid %q: %w", serverUser, u.Gid, err)
	}
	a := &account{name: u.Username, uid: uid, gid: gid, groups: []int{gid}}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && !slices.Contains(a.groups, g) {
				a.groups = append(a.groups, g)
			}
		}
	}
	return a, nil
}

// apply makes cmd run as a, and in its own process group when setpgid is
// set.
func (a *account) apply(cmd *exec.Cmd, setpgid bool) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = setpgid
	if a == nil {
		return
	}
	groups := make([]uint32, len(a.groups))
	for i, g := range a.groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{
		Uid:    uint32(a.uid),
		Gid:    uint32(a.gid),
		Groups: groups,
	}
}

// chown gives path (not following symlinks) to a.
func (a *account) chown(path string) error {
	if a == nil {
		return nil
	}
	if err := os.Lchown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, a.name, err)
	}
	return nil
}

// checkTraversable verifies that a can search every directory from / down
// to dir (inclusive), which PostgreSQL needs to reach its data directory.
// ACLs are not considered.
func (a *account) checkTraversable(dir string) error {
	if a == nil {
		return nil
	}
	dir = filepath.Clean(dir)
	for {
		if err := a.checkSearchable(dir); err != nil {
			return err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func (a *account) checkSearchable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking access for user %s: %w", a.name, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	perm := fi.Mode().Perm()
	var allowed bool
	switch {
	case int(st.Uid) == a.uid:
		allowed = perm&0o100 != 0
	case slices.Contains(a.groups, int(st.Gid)):
		allowed = perm&0o010 != 0
	default:
		allowed = perm&0o001 != 0
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("directory %s (mode %04o) is not traversable by the %s user, which PostgreSQL must run as because we are root; use a data directory outside it (e.g. not under /root) or chmod o+x %s",
		dir, perm, a.name, dir)
}
