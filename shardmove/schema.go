package shardmove

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Schemas are copied with PostgreSQL's own tools: pg_dump knows every kind
// of object and its dependencies, which a hand-written copy would not.

// tablePattern is a pg_dump -t pattern matching exactly schema.name.
func tablePattern(schema, name string) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return q(schema) + "." + q(name)
}

// pgDump runs pg_dump --schema-only against db at host:port and returns
// the script.
func (m *Mover) pgDump(ctx context.Context, host string, port int, db string, args ...string) ([]byte, error) {
	base := []string{"--schema-only", "--no-publications", "--no-subscriptions",
		"-h", host, "-p", strconv.Itoa(port), "-U", m.cfg.User, "-d", db}
	cmd := exec.CommandContext(ctx, m.cfg.Binaries.Path("pg_dump"), append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pg_dump of %s at %s:%d: %w: %s", db, host, port, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// pgDumpAllRoles returns the CREATE/ALTER ROLE statements of host:port.
func (m *Mover) pgDumpAllRoles(ctx context.Context, host string, port int) ([]byte, error) {
	cmd := exec.CommandContext(ctx, m.cfg.Binaries.Path("pg_dumpall"), "--roles-only", "--no-role-passwords",
		"-h", host, "-p", strconv.Itoa(port), "-U", m.cfg.User, "-l", m.cfg.AdminDB)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pg_dumpall --roles-only at %s:%d: %w: %s", host, port, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// psql runs script on db at host:port. With strict it runs as one
// transaction and stops at the first error; without, errors (such as
// roles that exist already) are skipped.
func (m *Mover) psql(ctx context.Context, host string, port int, db string, script []byte, strict bool) error {
	args := []string{"-X", "-q", "-h", host, "-p", strconv.Itoa(port), "-U", m.cfg.User, "-d", db}
	if strict {
		args = append(args, "-v", "ON_ERROR_STOP=1", "--single-transaction")
	}
	cmd := exec.CommandContext(ctx, m.cfg.Binaries.Path("psql"), args...)
	cmd.Stdin = bytes.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("applying schema to %s at %s:%d: %w: %s", db, host, port, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// comparableDump drops the lines of a pg_dump script that differ between
// servers holding the same schema or between runs: comments naming
// versions, and the random key of psql's \restrict guard.
func comparableDump(script []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(script) {
		if bytes.HasPrefix(line, []byte("--")) || bytes.HasPrefix(line, []byte(`\restrict `)) || bytes.HasPrefix(line, []byte(`\unrestrict `)) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
