package auth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ParseUsersFile reads a users file in the format described in the package
// documentation. Errors name the file and, for content errors, the line.
func ParseUsersFile(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	defer f.Close()
	return parseUsers(f, path)
}

// parseUsers parses a users file from r; name is used in error messages.
func parseUsers(r io.Reader, name string) (*Users, error) {
	b := newUsersBuilder()
	firstLine := map[string]int{}
	sc := bufio.NewScanner(r)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if trimmed := strings.TrimLeft(line, " \t"); trimmed == "" || trimmed[0] == '#' {
			continue
		}
		user, secret, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want name:secret, found no ':'", name, lineNo)
		}
		if first, dup := firstLine[user]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate user %q (first defined on line %d)", name, lineNo, user, first)
		}
		if err := b.add(user, secret); err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: %w", name, lineNo, user, err)
		}
		firstLine[user] = lineNo
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read users file %s: %w", name, err)
	}
	return b.users, nil
}
