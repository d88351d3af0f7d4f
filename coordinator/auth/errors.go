package auth

import (
	"fmt"

	"github.com/jackc/pgproto3/v2"
)

// SQLSTATE codes used in [AuthError].
const (
	CodeInvalidPassword     = "28P01" // invalid_password
	CodeProtocolViolation   = "08P01" // protocol_violation
	CodeFeatureNotSupported = "0A000" // feature_not_supported
)

// AuthError is an authentication failure to report to the client. Message
// is what PostgreSQL would send; Detail is for the server log only and must
// not be sent to the client, since it may reveal whether the user exists.
type AuthError struct {
	Code    string // SQLSTATE
	Message string
	Detail  string
	Err     error // underlying cause, if any
}

func (e *AuthError) Error() string {
	msg := e.Message
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

// ErrorResponse returns the FATAL message to send to the client before
// closing the connection. It leaves out Detail and Err.
func (e *AuthError) ErrorResponse() *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            "FATAL",
		SeverityUnlocalized: "FATAL",
		Code:                e.Code,
		Message:             e.Message,
	}
}

func passwordFailed(user, detail string) *AuthError {
	// The name is quoted like PostgreSQL does, without escaping.
	return &AuthError{
		Code:    CodeInvalidPassword,
		Message: `password authentication failed for user "` + user + `"`,
		Detail:  detail,
	}
}

func protocolViolation(format string, args ...any) *AuthError {
	return &AuthError{Code: CodeProtocolViolation, Message: fmt.Sprintf(format, args...)}
}
