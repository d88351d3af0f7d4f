package auth

import (
	"context"
	"fmt"

	"github.com/jackc/pgproto3/v2"
)

// Authenticate runs a SASL SCRAM-SHA-256 exchange with the client on be
// for user, the user named in the startup message. It sends
// AuthenticationSASL, AuthenticationSASLContinue and AuthenticationSASLFinal
// and reads the client's SASLInitialResponse and SASLResponse. flush is
// called before every read, since the caller's writer is expected to be
// buffered; the AuthenticationSASLFinal message is left unflushed, so the
// caller can send AuthenticationOk and flush both together.
//
// On success it returns nil and the caller sends AuthenticationOk. If the
// user is unknown or the password wrong it returns an [*AuthError] with
// SQLSTATE 28P01 and PostgreSQL's message; an unknown user goes through the
// same exchange as a known one (with a fake salt that is stable per user
// name) so that the client cannot tell the cases apart. A malformed or
// unexpected client message yields an [*AuthError] with SQLSTATE 08P01 (or
// 0A000 for unsupported SCRAM features). The caller should send an
// AuthError to the client with [AuthError.ErrorResponse] and close the
// connection. Other errors (I/O, ctx) mean the connection is unusable.
//
// ctx is checked between steps but cannot interrupt a blocked read; bound
// the whole exchange with a deadline on the connection, as PostgreSQL does
// with authentication_timeout.
func Authenticate(ctx context.Context, be *pgproto3.Backend, flush func() error, users *Users, user string) error {
	x := newExchange(users, user)

	if err := send(be, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{mechanism}}); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	msg, err := receive(ctx, be, flush)
	if err != nil {
		return err
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return unexpected(msg)
	}
	if initial.AuthMechanism != mechanism {
		return protocolViolation("client selected an invalid SASL authentication mechanism")
	}
	serverFirst, err := x.serverFirstMessage(initial.Data)
	if err != nil {
		return err
	}

	if err := send(be, &pgproto3.AuthenticationSASLContinue{Data: serverFirst}); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	msg, err = receive(ctx, be, flush)
	if err != nil {
		return err
	}
	response, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return unexpected(msg)
	}
	serverFinal, err := x.serverFinalMessage(response.Data)
	if err != nil {
		return err
	}

	if err := send(be, &pgproto3.AuthenticationSASLFinal{Data: serverFinal}); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeOk); err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	return nil
}

func send(be *pgproto3.Backend, msg pgproto3.BackendMessage) error {
	if err := be.Send(msg); err != nil {
		return fmt.Errorf("scram: send %T: %w", msg, err)
	}
	return nil
}

// receive flushes pending output and reads the client's next message.
func receive(ctx context.Context, be *pgproto3.Backend, flush func() error) (pgproto3.FrontendMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scram: %w", err)
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("scram: flush: %w", err)
	}
	msg, err := receiveMessage(be)
	switch {
	case err == nil:
		return msg, nil
	case msg != nil:
		// The whole message was read but its body did not decode.
		return nil, &AuthError{Code: CodeProtocolViolation, Message: "malformed SASL message", Err: err}
	default:
		return nil, fmt.Errorf("scram: receive: %w", err)
	}
}

// receiveMessage is be.Receive, except that it turns a panic while decoding
// into a decoding error: pgproto3 v2.3.3 panics on a SASLInitialResponse
// too short to hold its length field, and a client must not be able to
// crash the server before it has even authenticated. Like be.Receive, it
// returns a non-nil message with an error if the body did not decode.
func receiveMessage(be *pgproto3.Backend) (msg pgproto3.FrontendMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = &pgproto3.SASLInitialResponse{}, fmt.Errorf("decode: %v", r)
		}
	}()
	return be.Receive()
}

// unexpected reports a message other than the SASL response expected.
func unexpected(msg pgproto3.FrontendMessage) *AuthError {
	if b, err := msg.Encode(nil); err == nil && len(b) > 0 {
		return protocolViolation("expected SASL response, got message type %q", b[0])
	}
	return unexpected(msg)
}
