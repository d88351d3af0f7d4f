package test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// authURL is a client URL for the cluster with the given credentials;
// password "" leaves the password out.
func authURL(c *cluster.Cluster, user, password, database string) string {
	u := url.URL{Scheme: "postgres", Host: c.Addr.String(), Path: "/" + database, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

func authConnect(user, password, database string, c *cluster.Cluster) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(authURL(c, user, password, database))
	if err != nil {
		return nil, err
	}
	// No password from PGPASSWORD or ~/.pgpass: the test decides.
	if password == "" {
		cfg.Password = ""
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// authHealthy asserts that alice, already connected as keep, and a new
// session of alice both get correct answers.
func authHealthy(t *testing.T, c *cluster.Cluster, keep *pgx.Conn) {
	t.Helper()
	fresh, err := authConnect("alice", "secret", "postgres", c)
	if err != nil {
		t.Fatalf("alice with the right password cannot connect any more: %v", err)
	}
	defer fresh.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, conn := range []*pgx.Conn{keep, fresh} {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT sum(k) FROM au").Scan(&n); err != nil {
			t.Fatalf("healthy session: %v", err)
		}
		if n != 6 {
			t.Errorf("healthy session: sum(k) = %d; want 6", n)
		}
	}
}

func TestAuth(t *testing.T) {
	users, err := auth.NewUsers(map[string]string{"alice": "secret", "bob": "p@ss w:rd/é"})
	if err != nil {
		t.Fatal(err)
	}
	c := harness.Start(t, harness.Options{Nodes: 2, Users: users})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	keep, err := authConnect("alice", "secret", "postgres", c)
	if err != nil {
		t.Fatalf("alice with the right password: %v", err)
	}
	defer keep.Close(context.Background())
	if _, err := keep.Exec(ctx, "CREATE TABLE au (k bigint PRIMARY KEY) DISTRIBUTE BY HASH(k)"); err != nil {
		t.Fatal(err)
	}
	if _, err := keep.Exec(ctx, "INSERT INTO au (k) VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}

	t.Run("RightPassword", func(t *testing.T) {
		for _, u := range []struct{ user, password string }{{"alice", "secret"}, {"bob", "p@ss w:rd/é"}} {
			conn, err := authConnect(u.user, u.password, "postgres", c)
			if err != nil {
				t.Errorf("%s with the right password: %v", u.user, err)
				continue
			}
			var n int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM au WHERE k > $1", int64(1)).Scan(&n); err != nil || n != 2 {
				t.Errorf("%s: count = %d, %v; want 2", u.user, n, err)
			}
			conn.Close(ctx)
		}
		authHealthy(t, c, keep)
	})

	for _, tc := range []struct {
		name, user, password, database string
		code                           string // "" means any error
	}{
		{"WrongPassword", "alice", "wrong", "postgres", "28P01"},
		{"OtherUsersPassword", "bob", "secret", "postgres", "28P01"},
		{"PasswordCase", "alice", "SECRET", "postgres", "28P01"},
		{"UnknownUser", "mallory", "secret", "postgres", "28P01"},
		{"NoPassword", "alice", "", "postgres", ""},
		{"UnknownUserNoPassword", "mallory", "", "postgres", ""},
		{"UnknownDatabase", "alice", "secret", "no_such_db", "3D000"},
		{"UnknownDatabaseWrongPassword", "alice", "wrong", "no_such_db", "28P01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := authConnect(tc.user, tc.password, tc.database, c)
			if err == nil {
				conn.Close(ctx)
				t.Fatalf("user %q password %q database %q: connected; want an error", tc.user, tc.password, tc.database)
			}
			t.Logf("%s: %v", tc.name, err)
			if tc.code != "" && biCode(err) != tc.code {
				t.Errorf("user %q password %q database %q: %v; want SQLSTATE %s", tc.user, tc.password, tc.database, err, tc.code)
			}
			if tc.code == "" {
				if code := biCode(err); code != "" && !strings.HasPrefix(code, "28") {
					t.Errorf("user %q without a password: SQLSTATE %s (%v); want an authentication error (class 28)", tc.user, code, err)
				}
			}
			authHealthy(t, c, keep)
		})
	}

	// Raw clients that misbehave during authentication.
	t.Run("ClientLeavesDuringSASL", func(t *testing.T) {
		r := biDial(t, c)
		r.send(biStartupMessage("alice"))
		msg, err := r.fe.Receive()
		if err != nil {
			t.Fatalf("after StartupMessage: %v", err)
		}
		if _, ok := msg.(*pgproto3.AuthenticationSASL); !ok {
			t.Fatalf("after StartupMessage: got %T; want AuthenticationSASL", msg)
		}
		r.conn.Close()
		authHealthy(t, c, keep)
	})
	t.Run("CleartextPasswordInsteadOfSASL", func(t *testing.T) {
		r := biDial(t, c)
		r.send(biStartupMessage("alice"))
		if got := r.summary(authReceive(t, r)); got != "AuthSASL" {
			t.Fatalf("after StartupMessage: got %s; want AuthenticationSASL", got)
		}
		r.write(biMessage('p', []byte("secret\x00")))
		got := r.untilClosed()
		if len(got) != 1 || (got[0] != "E:08P01" && got[0] != "E:28P01" && got[0] != "E:28000") {
			t.Errorf("a password message instead of SASLInitialResponse: got %v; want one error (08P01 or class 28) and the connection closed", got)
		}
		authHealthy(t, c, keep)
	})
	t.Run("QueryBeforeAuthentication", func(t *testing.T) {
		r := biDial(t, c)
		r.send(biStartupMessage("alice"))
		if got := r.summary(authReceive(t, r)); got != "AuthSASL" {
			t.Fatalf("after StartupMessage: got %s; want AuthenticationSASL", got)
		}
		r.send(&pgproto3.Query{String: "SELECT sum(k) FROM au"})
		got := r.untilClosed()
		if len(got) != 1 || !strings.HasPrefix(got[0], "E:") {
			t.Errorf("a Query instead of SASLInitialResponse: got %v; want one error and the connection closed", got)
		}
		for _, s := range got {
			if s == "D:6" || s == "AuthOk" {
				t.Errorf("an unauthenticated client got %v", got)
			}
		}
		authHealthy(t, c, keep)
	})
	t.Run("GarbageSASLMechanism", func(t *testing.T) {
		r := biDial(t, c)
		r.send(biStartupMessage("alice"))
		if got := r.summary(authReceive(t, r)); got != "AuthSASL" {
			t.Fatalf("after StartupMessage: got %s; want AuthenticationSASL", got)
		}
		r.send(&pgproto3.SASLInitialResponse{AuthMechanism: "NOT-A-MECHANISM", Data: []byte("garbage")})
		got := r.untilClosed()
		if len(got) != 1 || !strings.HasPrefix(got[0], "E:") || biContains(got, "AuthOk") {
			t.Errorf("an unknown SASL mechanism: got %v; want one error and the connection closed", got)
		}
		authHealthy(t, c, keep)
	})
}

func authReceive(t *testing.T, r *biRaw) pgproto3.BackendMessage {
	t.Helper()
	msg, err := r.fe.Receive()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return msg
}
