package netspin

import (
	"errors"
	"net"
	"syscall"
)

// State is what a look at a socket, without reading from it or waiting,
// shows.
type State int

const (
	Quiet   State = iota // nothing to read
	Pending              // something to read
	Closed               // end of stream or an error
	Unknown              // not a socket that can be looked at
)

// Peek looks at c's socket without reading from it or waiting.
func Peek(c net.Conn) State {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Unknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Unknown
	}
	state := Unknown
	if err := raw.Read(func(fd uintptr) bool {
		state = peekFD(fd)
		return true // never wait for readiness
	}); err != nil {
		return Closed
	}
	return state
}

// peekFD looks at a socket with a non-blocking MSG_PEEK.
func peekFD(fd uintptr) State {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case errors.Is(err, syscall.EAGAIN):
		return Quiet
	case err != nil || n == 0:
		return Closed
	}
	return Pending
}
