package netspin

import (
	"net"
	"testing"
	"time"
)

func TestPeek(t *testing.T) {
	client, server := pair(t)
	// settle waits until what the server did reaches the client's socket.
	settle := func(want State) State {
		deadline := time.Now().Add(2 * time.Second)
		for {
			got := Peek(client)
			if got == want || time.Now().After(deadline) {
				return got
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := Peek(client); got != Quiet {
		t.Fatalf("idle connection: %v, want quiet", got)
	}
	if _, err := server.Write([]byte("E")); err != nil {
		t.Fatal(err)
	}
	if got := settle(Pending); got != Pending {
		t.Fatalf("after the server wrote: %v, want pending", got)
	}
	// Peeking does not consume: the byte is still there to read.
	var b [1]byte
	if _, err := client.Read(b[:]); err != nil || b[0] != 'E' {
		t.Fatalf("read after peek: %q, %v", b[:], err)
	}
	if got := Peek(client); got != Quiet {
		t.Fatalf("after reading it: %v, want quiet", got)
	}
	server.Close()
	if got := settle(Closed); got != Closed {
		t.Fatalf("after the server closed: %v, want closed", got)
	}
	p, q := net.Pipe() // no file descriptor behind it, as with TLS
	defer p.Close()
	defer q.Close()
	if got := Peek(p); got != Unknown {
		t.Fatalf("a connection without a socket: %v, want unknown", got)
	}
}
