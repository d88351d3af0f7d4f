package auth

import (
	"strings"
	"testing"
)

func TestMakeVerifierMatchesPostgreSQL(t *testing.T) {
	for _, tt := range []struct{ password, pg string }{
		{"pw", pgVerifierPw},
		{"secret", pgVerifierSecret},
		{"caf\u00e9", pgVerifierCafe}, // SASLprep leaves NFC "café" unchanged.
	} {
		v, err := ParseVerifier(tt.pg)
		if err != nil {
			t.Fatalf("ParseVerifier(%q): %v", tt.pg, err)
		}
		if got := MakeVerifier(tt.password, v.Salt, v.Iterations); got != tt.pg {
			t.Errorf("MakeVerifier(%q) = %s, want %s", tt.password, got, tt.pg)
		}
		if got := v.String(); got != tt.pg {
			t.Errorf("String() = %s, want %s", got, tt.pg)
		}
	}
}

func TestMakeVerifierPanics(t *testing.T) {
	for _, tt := range []struct {
		name       string
		salt       []byte
		iterations int
	}{
		{"empty salt", nil, 4096},
		{"zero iterations", []byte("salt"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("MakeVerifier did not panic")
				}
			}()
			MakeVerifier("pw", tt.salt, tt.iterations)
		})
	}
}

func TestParseVerifierErrors(t *testing.T) {
	const (
		salt = "QCQj8iubQw7TQFxj9owX1Q=="
		key  = "woMOsK6G/+5kiClXdTzroKmawIyKwcEd5VQum0P+n8o="
	)
	tests := []struct{ name, in, want string }{
		{"wrong mechanism", "SCRAM-SHA-1$4096:" + salt + "$" + key + ":" + key, "does not start with"},
		{"no keys", "SCRAM-SHA-256$4096:" + salt, "want SCRAM-SHA-256$"},
		{"no salt", "SCRAM-SHA-256$4096$" + key + ":" + key, "between iterations and salt"},
		{"one key", "SCRAM-SHA-256$4096:" + salt + "$" + key, "between StoredKey and ServerKey"},
		{"negative iterations", "SCRAM-SHA-256$-1:" + salt + "$" + key + ":" + key, "not a positive decimal"},
		{"plus sign", "SCRAM-SHA-256$+4096:" + salt + "$" + key + ":" + key, "not a positive decimal"},
		{"zero iterations", "SCRAM-SHA-256$0:" + salt + "$" + key + ":" + key, "out of range"},
		{"huge iterations", "SCRAM-SHA-256$4294967296:" + salt + "$" + key + ":" + key, "out of range"},
		{"empty salt", "SCRAM-SHA-256$4096:$" + key + ":" + key, "empty salt"},
		{"bad salt", "SCRAM-SHA-256$4096:QCQj*iubQw7TQFxj9owX1Q==$" + key + ":" + key, "salt: invalid base64"},
		{"short StoredKey", "SCRAM-SHA-256$4096:" + salt + "$" + salt + ":" + key, "StoredKey: got 16 bytes, want 32"},
		{"bad ServerKey", "SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + key[:len(key)-1], "ServerKey: invalid base64"},
		{"trailing junk", "SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + key + "$x", "ServerKey: invalid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseVerifier(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseVerifier(%q) = %v, want error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzParseVerifier(f *testing.F) {
	f.Add(pgVerifierPw)
	f.Add("SCRAM-SHA-256$1:AA==$" + strings.Repeat("A", 43) + "=:" + strings.Repeat("A", 43) + "=")
	f.Add("SCRAM-SHA-256$")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVerifier(s)
		if err != nil {
			return
		}
		again, err := ParseVerifier(v.String())
		if err != nil {
			t.Fatalf("ParseVerifier(%q) of String() of a parsed verifier: %v", v.String(), err)
		}
		if again.String() != v.String() {
			t.Fatalf("round trip changed %q to %q", v.String(), again.String())
		}
	})
}
