// Package pgerr carries PostgreSQL-style errors (SQLSTATE, message, detail,
// hint, position) between the planner, the executor and the coordinator, so
// that every error a client sees has the code PostgreSQL would give.
package pgerr

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes distgres raises itself.
const (
	FeatureNotSupported          = "0A000"
	UndefinedTable               = "42P01"
	DuplicateTable               = "42P07"
	UndefinedColumn              = "42703"
	SyntaxError                  = "42601"
	ProtocolViolation            = "08P01"
	InvalidParameterValue        = "22023"
	InvalidTextRep               = "22P02"
	CannotConnectNow             = "57P03"
	TransactionResolutionUnknown = "08007"
	TransactionRollback          = "40000"
	QueryCanceled                = "57014"
	InFailedTransaction          = "25P02"
	ActiveSQLTransaction         = "25001"
	NoActiveSQLTransaction       = "25P01"
	InvalidCursorName            = "34000"
	InvalidSQLStatementName      = "26000"
	DuplicatePreparedStatement   = "42P05"
	DuplicateCursor              = "42P03"
	InternalError                = "XX000"
	ConnectionFailure            = "08006"
	UndefinedObject              = "42704"
	InvalidDatabase              = "3D000"
	InvalidAuthorization         = "28000"
	ProgramLimitExceeded         = "54000"
	DataException                = "22000"
	InvalidColumnReference       = "42P10"
	UndefinedParameter           = "42P02"
	ObjectInUse                  = "55006"
	ObjectNotInPrerequisiteState = "55000"
	LockNotAvailable             = "55P03"
	DuplicateObject              = "42710"
	UnableToConnect              = "08001"
)

// Error is an error with PostgreSQL's fields. Severity defaults to ERROR.
type Error struct {
	Severity string
	Code     string
	Message  string
	Detail   string
	Hint     string
	// Position is the 1-based character position in the statement text, or 0.
	Position int32
	// Where is the error's context (e.g. "COPY t, line 3, column id").
	Where string
	Err   error
}

func (e *Error) Error() string {
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given SQLSTATE and message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns e with a hint set.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// WithDetail returns e with a detail set.
func (e *Error) WithDetail(format string, args ...any) *Error {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// Unsupported is a 0A000 error: the statement is valid SQL that distgres
// cannot run correctly, with a hint that says what to change.
func Unsupported(hint, format string, args ...any) *Error {
	return &Error{Code: FeatureNotSupported, Message: fmt.Sprintf(format, args...), Hint: hint}
}

// Fields is what a client is sent for an error.
type Fields struct {
	Severity, Code, Message, Detail, Hint string
	Position                              int32
	// The data node's remaining fields, passed through unchanged.
	Where, SchemaName, TableName, ColumnName, DataTypeName, ConstraintName string
	InternalPosition                                                       int32
	InternalQuery                                                          string
}

// FieldsOf turns any error into the fields sent to a client: a data node's
// error unchanged, our own with its code, anything else as XX000 (or 57014 if
// the context was cancelled).
func FieldsOf(err error) Fields {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		sev := pe.Severity
		if sev == "FATAL" || sev == "PANIC" {
			// The data node's session ended, not the client's.
			sev = "ERROR"
		}
		return Fields{
			Severity: sev, Code: pe.Code, Message: pe.Message, Detail: pe.Detail,
			Hint: pe.Hint, Position: pe.Position, Where: pe.Where, SchemaName: pe.SchemaName,
			TableName: pe.TableName, ColumnName: pe.ColumnName, DataTypeName: pe.DataTypeName,
			ConstraintName: pe.ConstraintName, InternalPosition: pe.InternalPosition,
			InternalQuery: pe.InternalQuery,
		}
	}
	var de *Error
	if errors.As(err, &de) {
		sev := de.Severity
		if sev == "" {
			sev = "ERROR"
		}
		return Fields{Severity: sev, Code: de.Code, Message: de.Message, Detail: de.Detail, Hint: de.Hint, Position: de.Position, Where: de.Where}
	}
	if errors.Is(err, errCanceled) || isContextCanceled(err) {
		return Fields{Severity: "ERROR", Code: QueryCanceled, Message: "canceling statement due to user request"}
	}
	return Fields{Severity: "ERROR", Code: InternalError, Message: err.Error()}
}

// Code returns the SQLSTATE of err, or "" when it has none.
func Code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	var de *Error
	if errors.As(err, &de) {
		return de.Code
	}
	return ""
}

// FromDataNode reports whether err is an error a data node sent for a
// statement, after which its connection is still usable: a PostgreSQL
// error other than a cancel (a cancelled statement may leave the
// connection mid-protocol).
func FromDataNode(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code != QueryCanceled
}
