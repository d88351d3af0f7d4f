package auth

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"
)

// testClient is a minimal SCRAM-SHA-256 client used to drive the server
// with well-formed and deliberately broken messages.
type testClient struct {
	gs2Header string
	nonce     string
	bare      string
}

func newTestClient(gs2Header string) *testClient {
	c := &testClient{gs2Header: gs2Header, nonce: "fyko+d2lbbFgONRv9qkxdawL"}
	c.bare = "n=,r=" + c.nonce
	return c
}

func (c *testClient) firstMessage() []byte { return []byte(c.gs2Header + c.bare) }

// finalMessage answers serverFirst with a proof for password. nonceSuffix
// is appended to the combined nonce, to break it.
func (c *testClient) finalMessage(serverFirst, password, nonceSuffix string) (msg []byte, serverSignature []byte, err error) {
	attrs := strings.Split(serverFirst, ",")
	if len(attrs) != 3 || !strings.HasPrefix(attrs[0], "r="+c.nonce) ||
		!strings.HasPrefix(attrs[1], "s=") || !strings.HasPrefix(attrs[2], "i=") {
		return nil, nil, fmt.Errorf("bad server-first-message %q", serverFirst)
	}
	salt, err := base64.StdEncoding.DecodeString(attrs[1][2:])
	if err != nil {
		return nil, nil, err
	}
	iterations, err := strconv.Atoi(attrs[2][2:])
	if err != nil {
		return nil, nil, err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, nil, err
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2Header)) + "," + attrs[0] + nonceSuffix
	authMessage := c.bare + "," + serverFirst + "," + withoutProof
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	proof := hmacSHA256(storedKey[:], authMessage)
	subtle.XORBytes(proof, proof, clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	msg = []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))
	return msg, hmacSHA256(serverKey, authMessage), nil
}

// runRaw runs Authenticate for user on one end of a pipe and client on
// the other, and returns what Authenticate returned.
func runRaw(t *testing.T, users *Users, user string, client func(fe *pgproto3.Frontend, conn net.Conn) error) (authErr, clientErr error) {
	t.Helper()
	serverConn, clientConn := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	serverConn.SetDeadline(deadline)
	clientConn.SetDeadline(deadline)

	done := make(chan error, 1)
	go func() {
		defer clientConn.Close()
		fe := pgproto3.NewFrontend(pgproto3.NewChunkReader(clientConn), clientConn)
		done <- client(fe, clientConn)
	}()

	be := pgproto3.NewBackend(pgproto3.NewChunkReader(serverConn), serverConn)
	authErr = Authenticate(t.Context(), be, func() error { return nil }, users, user)
	if authErr == nil {
		// Let the client read the final message before closing.
		authErr = be.Send(&pgproto3.AuthenticationOk{})
	}
	serverConn.Close()
	return authErr, <-done
}

// receiveAuth reads the next message and checks it has type T.
func receiveAuth[T pgproto3.BackendMessage](fe *pgproto3.Frontend) (T, error) {
	msg, err := fe.Receive()
	if err != nil {
		var zero T
		return zero, err
	}
	m, ok := msg.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("got %T, want %T", msg, zero)
	}
	return m, nil
}

// errClosed reports whether err just says that the server hung up.
func errClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe)
}
