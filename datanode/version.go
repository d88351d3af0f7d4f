package datanode

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// MajorVersion runs "postgres --version" and returns the major version
// number (for example 15). The command is bounded by a short internal
// timeout.
func (b Binaries) MajorVersion() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.Path("postgres"), "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("running %s --version: %w", b.Path("postgres"), err)
	}
	v, err := parseServerVersion(string(out))
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", b.Path("postgres"), err)
	}
	return v, nil
}

// parseServerVersion extracts the major version from output such as
// "postgres (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)".
func parseServerVersion(out string) (int, error) {
	const marker = "(PostgreSQL) "
	i := strings.Index(out, marker)
	if i < 0 {
		return 0, fmt.Errorf("unexpected version output %q", strings.TrimSpace(out))
	}
	return parseMajor(out[i+len(marker):])
}

// parseMajor returns the leading decimal number of s ("15.8" → 15,
// "16beta1" → 16).
func parseMajor(s string) (int, error) {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	}
	v, err := strconv.Atoi(s[:end])
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("cannot parse PostgreSQL version from %q", s)
	}
	return v, nil
}
