package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// DefaultIterations is the PBKDF2 iteration count used for verifiers
	// made from plain passwords; it is PostgreSQL's default.
	DefaultIterations = 4096

	// DefaultSaltLen is the length in bytes of the random salt used for
	// verifiers made from plain passwords; it is PostgreSQL's default.
	DefaultSaltLen = 16

	// mechanism is the only SASL mechanism supported, and also the prefix
	// of a stored verifier.
	mechanism = "SCRAM-SHA-256"
)

// A Verifier is what the server stores for a SCRAM-SHA-256 user instead of
// the password: enough to check a client proof and to prove itself to the
// client, but not enough to log in as the user.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  [sha256.Size]byte
	ServerKey  [sha256.Size]byte
}

// MakeVerifier returns the verifier for password with the given salt and
// iteration count, in the format PostgreSQL stores in
// pg_authid.rolpassword.
//
// The password is used as raw UTF-8 bytes. PostgreSQL first normalises it
// with SASLprep (RFC 4013); that leaves every ASCII password and most
// already-normalised (NFKC) text unchanged, so the verifiers are identical
// in those cases, but a password that SASLprep would change (for example
// one containing compatibility characters such as U+FB01 or non-ASCII
// spaces) yields a different verifier than PostgreSQL's.
//
// MakeVerifier panics if salt is empty or iterations is less than 1.
func MakeVerifier(password string, salt []byte, iterations int) string {
	v, err := newVerifier(password, salt, iterations)
	if err != nil {
		panic("auth.MakeVerifier: " + err.Error())
	}
	return v.String()
}

// ParseVerifier parses a verifier in the PostgreSQL format
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, with the salt
// and keys in padded standard base64.
func ParseVerifier(s string) (Verifier, error) {
	rest, ok := strings.CutPrefix(s, mechanism+"$")
	if !ok {
		return Verifier{}, fmt.Errorf("invalid SCRAM verifier: does not start with %q", mechanism+"$")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return Verifier{}, errors.New("invalid SCRAM verifier: want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	iterStr, saltStr, ok := strings.Cut(params, ":")
	if !ok {
		return Verifier{}, errors.New("invalid SCRAM verifier: missing ':' between iterations and salt")
	}
	storedStr, serverStr, ok := strings.Cut(keys, ":")
	if !ok {
		return Verifier{}, errors.New("invalid SCRAM verifier: missing ':' between StoredKey and ServerKey")
	}

	var v Verifier
	var err error
	if v.Iterations, err = parseIterations(iterStr); err != nil {
		return Verifier{}, fmt.Errorf("invalid SCRAM verifier: %w", err)
	}
	if v.Salt, err = decodeBase64(saltStr); err != nil {
		return Verifier{}, fmt.Errorf("invalid SCRAM verifier: salt: %w", err)
	}
	if len(v.Salt) == 0 {
		return Verifier{}, errors.New("invalid SCRAM verifier: empty salt")
	}
	if err := decodeKey(v.StoredKey[:], storedStr); err != nil {
		return Verifier{}, fmt.Errorf("invalid SCRAM verifier: StoredKey: %w", err)
	}
	if err := decodeKey(v.ServerKey[:], serverStr); err != nil {
		return Verifier{}, fmt.Errorf("invalid SCRAM verifier: ServerKey: %w", err)
	}
	return v, nil
}

// String returns v in the format PostgreSQL stores in
// pg_authid.rolpassword, which [ParseVerifier] accepts.
func (v Verifier) String() string {
	enc := base64.StdEncoding
	return mechanism + "$" + strconv.Itoa(v.Iterations) + ":" + enc.EncodeToString(v.Salt) +
		"$" + enc.EncodeToString(v.StoredKey[:]) + ":" + enc.EncodeToString(v.ServerKey[:])
}

// clone returns a copy of v that shares no memory with it.
func (v Verifier) clone() Verifier {
	v.Salt = append([]byte(nil), v.Salt...)
	return v
}

// newVerifier computes the verifier of password (RFC 5802, section 3):
//
//	SaltedPassword := Hi(password, salt, i)
//	ClientKey      := HMAC(SaltedPassword, "Client Key")
//	StoredKey      := H(ClientKey)
//	ServerKey      := HMAC(SaltedPassword, "Server Key")
func newVerifier(password string, salt []byte, iterations int) (Verifier, error) {
	if len(salt) == 0 {
		return Verifier{}, errors.New("empty salt")
	}
	if iterations < 1 {
		return Verifier{}, fmt.Errorf("iteration count %d is less than 1", iterations)
	}
	// Hi is PBKDF2 with HMAC-SHA-256 producing a single block.
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return Verifier{}, fmt.Errorf("derive salted password: %w", err)
	}
	v := Verifier{Iterations: iterations, Salt: append([]byte(nil), salt...)}
	clientKey := hmacSHA256(salted, "Client Key")
	v.StoredKey = sha256.Sum256(clientKey)
	copy(v.ServerKey[:], hmacSHA256(salted, "Server Key"))
	return v, nil
}

// newRandomVerifier computes the verifier of password with a fresh random
// salt and the default iteration count.
func newRandomVerifier(password string) (Verifier, error) {
	salt := make([]byte, DefaultSaltLen)
	rand.Read(salt) // Never returns an error; crashes the program instead.
	return newVerifier(password, salt, DefaultIterations)
}

func hmacSHA256(key []byte, parts ...string) []byte {
	mac := hmac.New(sha256.New, key)
	for _, p := range parts {
		mac.Write([]byte(p))
	}
	return mac.Sum(nil)
}

func parseIterations(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("iteration count %q is not a positive decimal integer", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 0, fmt.Errorf("iteration count %q out of range", s)
	}
	return n, nil
}

// decodeBase64 decodes padded standard base64, rejecting the line breaks
// that encoding/base64 would otherwise skip.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("invalid base64: contains a line break")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return b, nil
}

func decodeKey(dst []byte, s string) error {
	b, err := decodeBase64(s)
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return fmt.Errorf("got %d bytes, want %d", len(b), len(dst))
	}
	copy(dst, b)
	return nil
}
