package datanode

import (
	"net"
	"testing"
	"time"
)

func TestPeekSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	// settle waits until what the server did reaches the client's socket.
	settle := func(want socketState) socketState {
		deadline := time.Now().Add(2 * time.Second)
		for {
			got := peekSocket(client)
			if got == want || time.Now().After(deadline) {
				return got
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := peekSocket(client); got != socketQuiet {
		t.Fatalf("idle connection: %v, want quiet", got)
	}
	if _, err := server.Write([]byte("E")); err != nil {
		t.Fatal(err)
	}
	if got := settle(socketPending); got != socketPending {
		t.Fatalf("after the server wrote: %v, want pending", got)
	}
	// Peeking does not consume: the byte is still there to read.
	var b [1]byte
	if _, err := client.Read(b[:]); err != nil || b[0] != 'E' {
		t.Fatalf("read after peek: %q, %v", b[:], err)
	}
	if got := peekSocket(client); got != socketQuiet {
		t.Fatalf("after reading it: %v, want quiet", got)
	}
	server.Close()
	if got := settle(socketClosed); got != socketClosed {
		t.Fatalf("after the server closed: %v, want closed", got)
	}
	if got := peekSocket(fakeConn{}); got != socketUnknown {
		t.Fatalf("a connection without a socket: %v, want unknown", got)
	}
}

// fakeConn is a net.Conn with no file descriptor behind it (as a TLS
// connection would be).
type fakeConn struct{ net.Conn }
