package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
)

// exchange is the server side of one SCRAM-SHA-256 exchange, without I/O.
type exchange struct {
	user     string
	verifier Verifier
	// exists is false for an unknown user, whose exchange runs against a
	// mock verifier and always fails at the end.
	exists      bool
	serverNonce string

	first       clientFirst
	serverFirst string
}

func newExchange(users *Users, user string) *exchange {
	x := &exchange{user: user, serverNonce: rand.Text()}
	x.verifier, x.exists = users.Lookup(user)
	if !x.exists {
		x.verifier = users.mockVerifier(user)
	}
	return x
}

// serverFirstMessage parses the client-first-message and returns the
// server-first-message:
//
//	r=<client nonce><server nonce>,s=<salt>,i=<iterations>
func (x *exchange) serverFirstMessage(clientFirstMsg []byte) ([]byte, error) {
	first, err := parseClientFirst(clientFirstMsg)
	if err != nil {
		return nil, err
	}
	x.first = first
	x.serverFirst = "r=" + first.nonce + x.serverNonce +
		",s=" + base64.StdEncoding.EncodeToString(x.verifier.Salt) +
		",i=" + strconv.Itoa(x.verifier.Iterations)
	return []byte(x.serverFirst), nil
}

// serverFinalMessage parses the client-final-message, verifies the client
// proof and returns the server-final-message "v=<ServerSignature>":
//
//	AuthMessage     := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof
//	ClientSignature := HMAC(StoredKey, AuthMessage)
//	ClientKey       := ClientProof XOR ClientSignature
//	valid           := H(ClientKey) == StoredKey
//	ServerSignature := HMAC(ServerKey, AuthMessage)
func (x *exchange) serverFinalMessage(clientFinalMsg []byte) ([]byte, error) {
	final, err := parseClientFinal(clientFinalMsg)
	if err != nil {
		return nil, err
	}
	// Without channel binding, c= carries just the GS2 header.
	if string(final.channelBinding) != x.first.gs2Header {
		return nil, protocolViolation("SCRAM channel binding check failed")
	}
	if final.nonce != x.first.nonce+x.serverNonce {
		return nil, protocolViolation("SCRAM nonce mismatch: the client-final-message nonce differs from the one the server sent")
	}

	authMessage := x.first.bare + "," + x.serverFirst + "," + final.withoutProof
	clientKey := hmacSHA256(x.verifier.StoredKey[:], authMessage)
	subtle.XORBytes(clientKey, clientKey, final.proof)
	storedKey := sha256.Sum256(clientKey)
	valid := subtle.ConstantTimeCompare(storedKey[:], x.verifier.StoredKey[:]) == 1
	if !x.exists {
		return nil, passwordFailed(x.user, "user does not exist")
	}
	if !valid {
		return nil, passwordFailed(x.user, "wrong password")
	}
	serverSignature := hmacSHA256(x.verifier.ServerKey[:], authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), nil
}
