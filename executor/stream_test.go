package executor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestDeadConnectionErrors(t *testing.T) {
	fatal := func(code string) error {
		return fmt.Errorf("reading: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "terminating connection"})
	}
	brokenPipe := &net.OpError{Op: "write", Net: "unix", Err: syscall.EPIPE}
	resetRead := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name        string
		err         error
		lost, ended bool
		code        string // the client's SQLSTATE; "" leaves err as it is
	}{
		{"admin shutdown", fatal("57P01"), true, true, ""},
		{"crash of another backend", fatal("57P02"), true, true, ""},
		{"starting up", fatal("57P03"), true, true, ""},
		{"other FATAL", fatal("28000"), false, false, ""},
		{"statement error", &pgconn.PgError{Severity: "ERROR", Code: "57P01"}, false, false, ""},
		{"write to a closed socket", brokenPipe, true, false, pgerr.ConnectionFailure},
		{"reset while reading", resetRead, false, false, pgerr.ConnectionFailure},
		{"end of stream", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), false, false, pgerr.ConnectionFailure},
		{"timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, false, false, ""},
		{"other", errors.New("something else"), false, false, ""},
	}
	node := catalog.Node{Name: "node7"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connectionLost(tt.err); got != tt.lost {
				t.Errorf("connectionLost = %v; want %v", got, tt.lost)
			}
			if got := serverEnded(tt.err); got != tt.ended {
				t.Errorf("serverEnded = %v; want %v", got, tt.ended)
			}
			got := lostConnection(node, tt.err)
			if tt.code == "" {
				if got != tt.err {
					t.Errorf("lostConnection changed the error to %v", got)
				}
				return
			}
			if pgerr.Code(got) != tt.code || !strings.Contains(got.Error(), "node7") || !errors.Is(got, tt.err) {
				t.Errorf("lostConnection = %v (%s); want %s naming node7 and wrapping the cause", got, pgerr.Code(got), tt.code)
			}
		})
	}
	if lostConnection(node, nil) != nil {
		t.Error("lostConnection(nil) is not nil")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
