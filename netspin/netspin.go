// Package netspin lets a reader poll its socket for a few microseconds
// before a read parks the goroutine. On an otherwise idle machine an
// answer that comes within the budget then costs no sleep and wake-up of
// the reading thread, which is most of a loopback round trip's latency.
package netspin

import (
	"net"
	"syscall"
	"time"
)

// socket is a connection with a file descriptor: *net.TCPConn or
// *net.UnixConn.
type socket interface {
	net.Conn
	syscall.Conn
}

// Conn is a TCP or Unix socket connection whose Read first polls the
// socket, up to Budget, when Allow says polling is worth its CPU (for
// example when no other work is waiting for it).
type Conn struct {
	socket
	raw    syscall.RawConn
	budget time.Duration
	allow  func() bool
}

// Wrap returns c polling for up to budget before each read that allow
// permits, or c itself when it is not a TCP or Unix socket connection.
func Wrap(c net.Conn, budget time.Duration, allow func() bool) net.Conn {
	if budget <= 0 {
		return c
	}
	var s socket
	switch c := c.(type) {
	case *net.TCPConn:
		s = c
	case *net.UnixConn:
		s = c
	default:
		return c
	}
	raw, err := s.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{socket: s, raw: raw, budget: budget, allow: allow}
}

// Read polls for up to the budget (when allowed) and then reads.
func (c *Conn) Read(p []byte) (int, error) {
	if c.allow == nil || c.allow() {
		c.poll()
	}
	return c.socket.Read(p)
}

// poll returns when the socket has something to read, has failed, or the
// budget is spent.
func (c *Conn) poll() {
	deadline := time.Now().Add(c.budget)
	c.raw.Read(func(fd uintptr) bool {
		for peekFD(fd) == Quiet && time.Now().Before(deadline) {
		}
		return true
	})
}
