package datanode

import (
	"errors"
	"fmt"
)

// ErrBinariesNotFound is returned (wrapped) by FindBinaries when no
// PostgreSQL server installation can be found.
var ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// ErrPortInUse is returned (wrapped) by Server.Start when the requested TCP
// port is already taken by another process.
var ErrPortInUse = errors.New("port already in use")

// portInUseError reports a busy port as "port N is already in use" while
// still matching ErrPortInUse with errors.Is.
type portInUseError struct{ port int }

func (e *portInUseError) Error() string {
	return fmt.Sprintf("port %d is already in use", e.port)
}

func (e *portInUseError) Unwrap() error { return ErrPortInUse }
