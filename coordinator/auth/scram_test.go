package auth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

// Verifiers copied from a real PostgreSQL 15 cluster. They were made as
// root with
//
//	mkdir -p /tmp/scramtest && chown postgres /tmp/scramtest
//	runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /tmp/scramtest/d -A trust -U postgres
//	runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/scramtest/d \
//	    -o "-p 55498 -k /tmp/scramtest -c listen_addresses=127.0.0.1" -w start
//	psql -h 127.0.0.1 -p 55498 -U postgres -Atc "set password_encryption='scram-sha-256';
//	    create role u login password 'pw'; select rolpassword from pg_authid where rolname='u'"
//
// and likewise for roles with password 'secret' and U&'caf\00E9' ("café"),
// after which the server was stopped and /tmp/scramtest removed.
const (
	pgVerifierPw     = "SCRAM-SHA-256$4096:QCQj8iubQw7TQFxj9owX1Q==$woMOsK6G/+5kiClXdTzroKmawIyKwcEd5VQum0P+n8o=:/vgwn3UIyXOo/FC6wzACxcbjQ5ommRC/I+loMuoFhGc="
	pgVerifierSecret = "SCRAM-SHA-256$4096:V/cuTTq80yR2eO8CqFFzTw==$f3H7hRt/FiVtmw45C/GA+zjJQx8kkttExqZXakqr5t4=:UNZj2kOo//y5eQn8OmIK4crkn+pJwhlZ0Shn6+DO+cw="
	pgVerifierCafe   = "SCRAM-SHA-256$4096:3BjjjzPPWPxJkNh32O7xBQ==$lzKTmSg67H5Fe9bH31Of4w+FSxMS2LpmQ4X+nFyiNGU=:Alq5BDCL0lnq5/NwueGPaURFID/wWlz9yY2AJIt9+wU="
)

// serve is a tiny PostgreSQL front door: startup, Authenticate, then the
// messages a real server sends before the first query.
func serve(ctx context.Context, conn net.Conn, users *Users) error {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(conn)
	be := pgproto3.NewBackend(pgproto3.NewChunkReader(conn), w)

	msg, err := be.ReceiveStartupMessage()
	if err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	startup, ok := msg.(*pgproto3.StartupMessage)
	if !ok {
		return fmt.Errorf("startup: got %T", msg)
	}

	if err := Authenticate(ctx, be, w.Flush, users, startup.Parameters["user"]); err != nil {
		if ae, ok := errors.AsType[*AuthError](err); ok {
			be.Send(ae.ErrorResponse())
			w.Flush()
		}
		return err
	}
	for _, m := range []pgproto3.BackendMessage{
		&pgproto3.AuthenticationOk{},
		&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"},
		&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"},
		&pgproto3.BackendKeyData{ProcessID: 42, SecretKey: 7},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
	} {
		if err := be.Send(m); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			return fmt.Errorf("waiting for Terminate: %w", err)
		}
		if _, ok := msg.(*pgproto3.Terminate); ok {
			return nil
		}
	}
}

// startServer listens on 127.0.0.1 and serves each connection; the result
// of each serve call is sent on the returned channel.
func startServer(t *testing.T, users *Users) (addr string, results <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan error, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- serve(t.Context(), conn, users)
		}
	}()
	return ln.Addr().String(), ch
}

func TestAuthenticatePgconn(t *testing.T) {
	salt := []byte("0123456789abcdef")
	users, err := NewUsers(map[string]string{
		"alice": "correct horse: battery staple",
		"made":  MakeVerifier("secret", salt, DefaultIterations),
		"u":     pgVerifierPw,
		"cafe":  pgVerifierCafe,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, results := startServer(t, users)

	tests := []struct {
		user, password string
		wantDetail     string // server-side detail of a 28P01 failure; "" means success
	}{
		{user: "alice", password: "correct horse: battery staple"},
		{user: "alice", password: "correct horse", wantDetail: "wrong password"},
		{user: "nobody", password: "correct horse: battery staple", wantDetail: "user does not exist"},
		{user: "made", password: "secret"},
		{user: "made", password: "Secret", wantDetail: "wrong password"},
		{user: "u", password: "pw"},
		{user: "u", password: "pw ", wantDetail: "wrong password"},
		{user: "cafe", password: "caf\u00e9"},
		{user: "alice", password: "", wantDetail: "wrong password"},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.password, func(t *testing.T) {
			u := url.URL{
				Scheme:   "postgres",
				User:     url.UserPassword(tt.user, tt.password),
				Host:     addr,
				Path:     "/db",
				RawQuery: "sslmode=disable&connect_timeout=10",
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, err := pgconn.Connect(ctx, u.String())
			if tt.wantDetail == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				if got := conn.ParameterStatus("server_version"); got != "15.0" {
					t.Errorf("server_version = %q, want 15.0", got)
				}
				if err := conn.Close(ctx); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := <-results; err != nil {
					t.Errorf("server: %v", err)
				}
				return
			}

			pgErr, ok := errors.AsType[*pgconn.PgError](err)
			if !ok {
				t.Fatalf("Connect error = %v, want a *pgconn.PgError", err)
			}
			want := `password authentication failed for user "` + tt.user + `"`
			if pgErr.Code != "28P01" || pgErr.Message != want || pgErr.Severity != "FATAL" {
				t.Errorf("got %s %s: %s, want FATAL 28P01: %s", pgErr.Severity, pgErr.Code, pgErr.Message, want)
			}
			serverErr := <-results
			ae, ok := errors.AsType[*AuthError](serverErr)
			if !ok || ae.Detail != tt.wantDetail {
				t.Errorf("server error = %v, want detail %q", serverErr, tt.wantDetail)
			}
		})
	}
}

func TestAuthenticateRaw(t *testing.T) {
	users, err := NewUsers(map[string]string{"alice": "pw"})
	if err != nil {
		t.Fatal(err)
	}

	// exchange sends a SASLInitialResponse and, if final is not nil, a
	// SASLResponse built from the server-first-message.
	exchange := func(mech string, first []byte, final func(serverFirst string) []byte) func(*pgproto3.Frontend, net.Conn) error {
		return func(fe *pgproto3.Frontend, _ net.Conn) error {
			sasl, err := receiveAuth[*pgproto3.AuthenticationSASL](fe)
			if err != nil {
				return err
			}
			if len(sasl.AuthMechanisms) != 1 || sasl.AuthMechanisms[0] != "SCRAM-SHA-256" {
				return fmt.Errorf("mechanisms = %q, want [SCRAM-SHA-256]", sasl.AuthMechanisms)
			}
			if err := fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: mech, Data: first}); err != nil {
				return err
			}
			if final == nil {
				return nil
			}
			cont, err := receiveAuth[*pgproto3.AuthenticationSASLContinue](fe)
			if err != nil {
				return err
			}
			return fe.Send(&pgproto3.SASLResponse{Data: final(string(cont.Data))})
		}
	}
	c := newTestClient("n,,")
	finalWith := func(password, nonceSuffix string, edit func(string) string) func(string) []byte {
		return func(serverFirst string) []byte {
			msg, _, err := c.finalMessage(serverFirst, password, nonceSuffix)
			if err != nil {
				return []byte(err.Error())
			}
			return []byte(edit(string(msg)))
		}
	}
	same := func(s string) string { return s }
	proof := base64.StdEncoding.EncodeToString(make([]byte, 32))

	tests := []struct {
		name     string
		user     string
		client   func(*pgproto3.Frontend, net.Conn) error
		wantCode string
		wantMsg  string // substring of the AuthError message
	}{
		{
			name:     "garbage client-first",
			client:   exchange(mechanism, []byte("hello, world"), nil),
			wantCode: "08P01", wantMsg: "malformed SCRAM message",
		},
		{
			name:     "empty client-first",
			client:   exchange(mechanism, nil, nil),
			wantCode: "08P01", wantMsg: "empty client-first-message",
		},
		{
			name:     "missing nonce",
			client:   exchange(mechanism, []byte("n,,n=alice"), nil),
			wantCode: "08P01", wantMsg: `expected attribute "r"`,
		},
		{
			name:     "channel binding requested",
			client:   exchange(mechanism, []byte("p=tls-server-end-point,,n=,r=abc"), nil),
			wantCode: "08P01", wantMsg: "channel binding is not supported",
		},
		{
			name:     "PLUS mechanism",
			client:   exchange("SCRAM-SHA-256-PLUS", []byte("p=tls-server-end-point,,n=,r=abc"), nil),
			wantCode: "08P01", wantMsg: "invalid SASL authentication mechanism",
		},
		{
			name:     "authorization identity",
			client:   exchange(mechanism, []byte("n,a=bob,n=,r=abc"), nil),
			wantCode: "0A000", wantMsg: "authorization identity",
		},
		{
			name:     "wrong nonce in client-final",
			client:   exchange(mechanism, c.firstMessage(), finalWith("pw", "x", same)),
			wantCode: "08P01", wantMsg: "nonce mismatch",
		},
		{
			name: "client-final nonce is the client's only",
			client: exchange(mechanism, c.firstMessage(), func(string) []byte {
				return []byte("c=biws,r=" + c.nonce + ",p=" + proof)
			}),
			wantCode: "08P01", wantMsg: "nonce mismatch",
		},
		{
			name: "channel binding differs from GS2 header",
			client: exchange(mechanism, c.firstMessage(), finalWith("pw", "", func(s string) string {
				return strings.Replace(s, "c=biws", "c=eSws", 1)
			})),
			wantCode: "08P01", wantMsg: "channel binding check failed",
		},
		{
			name: "no proof",
			client: exchange(mechanism, c.firstMessage(), finalWith("pw", "", func(s string) string {
				return s[:strings.LastIndex(s, ",p=")]
			})),
			wantCode: "08P01", wantMsg: `no proof attribute "p"`,
		},
		{
			name: "short proof",
			client: exchange(mechanism, c.firstMessage(), finalWith("pw", "", func(s string) string {
				return s[:strings.LastIndex(s, ",p=")] + ",p=AAAA"
			})),
			wantCode: "08P01", wantMsg: "invalid client proof",
		},
		{
			name:     "wrong password",
			client:   exchange(mechanism, c.firstMessage(), finalWith("wrong", "", same)),
			wantCode: "28P01", wantMsg: `password authentication failed for user "alice"`,
		},
		{
			name:     "unknown user",
			user:     "mallory",
			client:   exchange(mechanism, c.firstMessage(), finalWith("pw", "", same)),
			wantCode: "28P01", wantMsg: `password authentication failed for user "mallory"`,
		},
		{
			name: "query instead of SASL response",
			client: func(fe *pgproto3.Frontend, _ net.Conn) error {
				if _, err := receiveAuth[*pgproto3.AuthenticationSASL](fe); err != nil {
					return err
				}
				return fe.Send(&pgproto3.Query{String: "select 1"})
			},
			wantCode: "08P01", wantMsg: "expected SASL response, got message type 'Q'",
		},
		{
			// pgproto3 v2.3.3 panics decoding this; Authenticate must not.
			name: "truncated SASLInitialResponse",
			client: func(fe *pgproto3.Frontend, conn net.Conn) error {
				if _, err := receiveAuth[*pgproto3.AuthenticationSASL](fe); err != nil {
					return err
				}
				body := append([]byte(mechanism+"\x00"), 0, 0)
				msg := binary.BigEndian.AppendUint32([]byte{'p'}, uint32(4+len(body)))
				_, err := conn.Write(append(msg, body...))
				return err
			},
			wantCode: "08P01", wantMsg: "malformed SASL message",
		},
		{
			name: "SASLInitialResponse without mechanism terminator",
			client: func(fe *pgproto3.Frontend, conn net.Conn) error {
				if _, err := receiveAuth[*pgproto3.AuthenticationSASL](fe); err != nil {
					return err
				}
				_, err := conn.Write([]byte{'p', 0, 0, 0, 7, 'a', 'b', 'c'})
				return err
			},
			wantCode: "08P01", wantMsg: "malformed SASL message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := tt.user
			if user == "" {
				user = "alice"
			}
			err, clientErr := runRaw(t, users, user, tt.client)
			if clientErr != nil && !errClosed(clientErr) {
				t.Errorf("client: %v", clientErr)
			}
			ae, ok := errors.AsType[*AuthError](err)
			if !ok {
				t.Fatalf("Authenticate = %v, want an *AuthError", err)
			}
			if ae.Code != tt.wantCode || !strings.Contains(ae.Message, tt.wantMsg) {
				t.Errorf("Authenticate = %s %q, want %s containing %q", ae.Code, ae.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// TestAuthenticateSuccessRaw checks both GS2 headers a client without
// channel binding may send, and the server signature.
func TestAuthenticateSuccessRaw(t *testing.T) {
	users, err := NewUsers(map[string]string{"alice": pgVerifierSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, gs2 := range []string{"n,,", "y,,"} {
		t.Run(gs2, func(t *testing.T) {
			c := newTestClient(gs2)
			err, clientErr := runRaw(t, users, "alice", func(fe *pgproto3.Frontend, _ net.Conn) error {
				if _, err := receiveAuth[*pgproto3.AuthenticationSASL](fe); err != nil {
					return err
				}
				if err := fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: mechanism, Data: c.firstMessage()}); err != nil {
					return err
				}
				cont, err := receiveAuth[*pgproto3.AuthenticationSASLContinue](fe)
				if err != nil {
					return err
				}
				final, wantSig, err := c.finalMessage(string(cont.Data), "secret", "")
				if err != nil {
					return err
				}
				if err := fe.Send(&pgproto3.SASLResponse{Data: final}); err != nil {
					return err
				}
				fin, err := receiveAuth[*pgproto3.AuthenticationSASLFinal](fe)
				if err != nil {
					return err
				}
				if want := "v=" + base64.StdEncoding.EncodeToString(wantSig); string(fin.Data) != want {
					return fmt.Errorf("server-final-message = %q, want %q", fin.Data, want)
				}
				_, err = receiveAuth[*pgproto3.AuthenticationOk](fe)
				return err
			})
			if err != nil || clientErr != nil {
				t.Fatalf("Authenticate = %v, client = %v", err, clientErr)
			}
		})
	}
}

func TestAuthenticateCanceled(t *testing.T) {
	users := &Users{}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	be := pgproto3.NewBackend(pgproto3.NewChunkReader(strings.NewReader("")), &out)
	err := Authenticate(ctx, be, func() error { return nil }, users, "alice")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate = %v, want context.Canceled", err)
	}
}

// TestMockSalt checks that an unknown user gets a salt that is stable for
// the name, differs between names and looks like a real one.
func TestMockSalt(t *testing.T) {
	users, err := NewUsers(map[string]string{"alice": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	salt := func(user string) string {
		t.Helper()
		x := newExchange(users, user)
		msg, err := x.serverFirstMessage(newTestClient("n,,").firstMessage())
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(msg), ",")[1]
	}
	if a, b := salt("ghost"), salt("ghost"); a != b {
		t.Errorf("fake salt for the same user changed: %s, %s", a, b)
	}
	if a, b := salt("ghost"), salt("spook"); a == b {
		t.Errorf("fake salts for different users are equal: %s", a)
	}
	if a, b := salt("alice"), salt("ghost"); len(a) != len(b) {
		t.Errorf("fake salt %s and real salt %s differ in length", b, a)
	}
}
