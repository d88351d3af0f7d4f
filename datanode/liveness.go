package datanode

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pingAfterIdle is how long a pooled connection may sit unused before it
// is checked when acquired.
const pingAfterIdle = time.Second

// socketState is what a non-blocking look at an idle connection's socket
// shows.
type socketState int

const (
	socketQuiet   socketState = iota // nothing to read: as alive as can be told without a round trip
	socketPending                    // the server sent something unasked (often a FATAL before closing)
	socketClosed                     // end of stream or an error
	socketUnknown                    // not a socket we can look at
)

// peekSocket looks at c's socket without reading from it or waiting.
func peekSocket(c net.Conn) socketState {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return socketUnknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return socketUnknown
	}
	state := socketUnknown
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			state = socketQuiet
		case err != nil || n == 0:
			state = socketClosed
		default:
			state = socketPending
		}
		return true // never wait for readiness
	})
	if err != nil {
		return socketClosed
	}
	return state
}

// shouldPing replaces pgxpool's default of pinging every connection idle
// for a second (a data node round trip the client did not ask for) by a
// look at the socket: only a connection whose server closed it or sent
// something unasked is pinged, which drops it from the pool if it is
// dead.
func shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration <= pingAfterIdle {
		return false
	}
	return peekSocket(p.Conn.PgConn().Conn()) != socketQuiet
}
