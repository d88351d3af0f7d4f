package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// Users is a registry of users and their SCRAM verifiers. It is immutable
// once built and safe for concurrent use. The zero value has no users.
type Users struct {
	verifiers map[string]Verifier

	// mockKey is a random secret used to derive stable fake verifiers for
	// unknown users, so that probing a name reveals nothing about whether it
	// exists.
	mockKey []byte
}

// NewUsers builds a registry from a map of user name to secret, where a
// secret is a plain password or a verifier in PostgreSQL format (see the
// package documentation). It is meant for command-line flags such as
// --user name:password.
func NewUsers(secrets map[string]string) (*Users, error) {
	b := newUsersBuilder()
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		if err := b.add(name, secrets[name]); err != nil {
			return nil, fmt.Errorf("user %q: %w", name, err)
		}
	}
	return b.users, nil
}

// Lookup returns the verifier of the named user and whether the user exists.
// The returned verifier is a copy; changing it does not affect u.
func (u *Users) Lookup(name string) (Verifier, bool) {
	if u == nil {
		return Verifier{}, false
	}
	v, ok := u.verifiers[name]
	if !ok {
		return Verifier{}, false
	}
	return v.clone(), true
}

// Len returns the number of users.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.verifiers)
}

// usersBuilder accumulates users; only it mutates a Users.
type usersBuilder struct {
	users *Users
}

func newUsersBuilder() *usersBuilder {
	key := make([]byte, 32)
	rand.Read(key) // Never returns an error; crashes the program instead.
	return &usersBuilder{users: &Users{verifiers: map[string]Verifier{}, mockKey: key}}
}

func (b *usersBuilder) has(name string) bool {
	_, ok := b.users.verifiers[name]
	return ok
}

func (b *usersBuilder) add(name, secret string) error {
	if err := checkUserName(name); err != nil {
		return err
	}
	if b.has(name) {
		return fmt.Errorf("duplicate user %q", name)
	}
	v, err := parseSecret(secret)
	if err != nil {
		return err
	}
	b.users.verifiers[name] = v
	return nil
}

func checkUserName(name string) error {
	if name == "" {
		return errors.New("empty user name")
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("user name %q has leading or trailing whitespace", name)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("user name %q contains a control character", name)
	}
	return nil
}

// parseSecret turns a users-file or flag secret into a verifier.
func parseSecret(secret string) (Verifier, error) {
	switch {
	case secret == "":
		return Verifier{}, errors.New("empty password")
	case strings.HasPrefix(secret, mechanism+"$"):
		return ParseVerifier(secret)
	case isMD5Hash(secret):
		return Verifier{}, errors.New("MD5 password hashes cannot be used with SCRAM; give a SCRAM-SHA-256 verifier or a plain password")
	}
	v, err := newRandomVerifier(secret)
	if err != nil {
		return Verifier{}, fmt.Errorf("make verifier: %w", err)
	}
	return v, nil
}

// isMD5Hash reports whether s looks like a PostgreSQL MD5 password hash,
// which is "md5" followed by 32 lowercase hex digits.
func isMD5Hash(s string) bool {
	hex, ok := strings.CutPrefix(s, "md5")
	return ok && len(hex) == 32 && strings.Trim(hex, "0123456789abcdef") == ""
}
