package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUsersFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string // user -> password that must authenticate
		wantErr string            // substring; the file name is "users.conf"
	}{
		{
			name: "good",
			content: "# distgres users\n" +
				"\n" +
				"   \t\n" +
				"  # indented comment\n" +
				"alice:correct horse battery staple\n" +
				"bob:p:a#ss w0rd \r\n" + // CR removed, everything else verbatim
				"u:" + pgVerifierPw + "\n" +
				"jos\u00e9:pw", // no final newline
			want: map[string]string{
				"alice":     "correct horse battery staple",
				"bob":       "p:a#ss w0rd ",
				"u":         "pw",
				"jos\u00e9": "pw",
			},
		},
		{name: "empty file", content: "", want: map[string]string{}},
		{name: "no colon", content: "# users\nalice:pw\nbob\n", wantErr: "users.conf:3: want name:secret"},
		{name: "empty name", content: ":pw\n", wantErr: "users.conf:1: user \"\": empty user name"},
		{name: "empty password", content: "alice:pw\n\nbob:\n", wantErr: "users.conf:3: user \"bob\": empty password"},
		{name: "spaces around name", content: " alice:pw\n", wantErr: "users.conf:1: user \" alice\": user name \" alice\" has leading or trailing whitespace"},
		{name: "control character", content: "al\x01ice:pw\n", wantErr: "users.conf:1: user \"al\\x01ice\": user name \"al\\x01ice\" contains a control character"},
		{name: "duplicate", content: "alice:a\nbob:b\nalice:c\n", wantErr: "users.conf:3: duplicate user \"alice\" (first defined on line 1)"},
		{
			name:    "bad verifier",
			content: "alice:pw\nbob:SCRAM-SHA-256$4096:QCQj8iubQw7TQFxj9owX1Q==$woMOsK6G:/vgwn3UIyXOo\n",
			wantErr: "users.conf:2: user \"bob\": invalid SCRAM verifier: StoredKey: got 6 bytes, want 32",
		},
		{
			name:    "truncated verifier",
			content: "bob:SCRAM-SHA-256$4096\n",
			wantErr: "users.conf:1: user \"bob\": invalid SCRAM verifier",
		},
		{
			name:    "md5 hash",
			content: "bob:md5" + strings.Repeat("0123456789abcdef", 2) + "\n",
			wantErr: "users.conf:1: user \"bob\": MD5 password hashes cannot be used",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.conf")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			users, err := ParseUsersFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseUsersFile = %v, want error containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), path+":") {
					t.Errorf("error %q does not start with the file name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseUsersFile: %v", err)
			}
			if users.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", users.Len(), len(tt.want))
			}
			for name, password := range tt.want {
				checkPassword(t, users, name, password)
			}
		})
	}
}

func TestParseUsersFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.conf")
	_, err := ParseUsersFile(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("ParseUsersFile = %v, want a not-exist error naming %s", err, path)
	}
}

func TestNewUsers(t *testing.T) {
	users, err := NewUsers(map[string]string{"alice": "pw", "made": MakeVerifier("secret", []byte("salt"), 10)})
	if err != nil {
		t.Fatal(err)
	}
	checkPassword(t, users, "alice", "pw")
	checkPassword(t, users, "made", "secret")
	if _, ok := users.Lookup("bob"); ok {
		t.Error("Lookup(bob) found a user")
	}

	v, _ := users.Lookup("alice")
	if v.Iterations != DefaultIterations || len(v.Salt) != DefaultSaltLen {
		t.Errorf("plain password verifier has %d iterations and a %d-byte salt", v.Iterations, len(v.Salt))
	}
	v.Salt[0] ^= 0xff
	if again, _ := users.Lookup("alice"); again.Salt[0] == v.Salt[0] {
		t.Error("changing a looked-up verifier changed the registry")
	}

	if _, err := NewUsers(map[string]string{"bob": "SCRAM-SHA-256$x"}); err == nil || !strings.Contains(err.Error(), `user "bob"`) {
		t.Errorf("NewUsers with a bad verifier = %v, want an error naming bob", err)
	}

	var nilUsers *Users
	if _, ok := nilUsers.Lookup("alice"); ok || nilUsers.Len() != 0 {
		t.Error("nil *Users is not empty")
	}
}

// checkPassword checks that password matches the verifier of user.
func checkPassword(t *testing.T, users *Users, user, password string) {
	t.Helper()
	v, ok := users.Lookup(user)
	if !ok {
		t.Errorf("user %q not found", user)
		return
	}
	if got := MakeVerifier(password, v.Salt, v.Iterations); got != v.String() {
		t.Errorf("password %q does not match the verifier of %q", password, user)
	}
}
