package netspin

import (
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	return networkPair(t, "tcp")
}

// networkPair returns the two ends of a connection over loopback TCP
// ("tcp") or a Unix socket ("unix").
func networkPair(t *testing.T, network string) (client, server net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		done <- c
	}()
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-done
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestConnReads(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) { testConnReads(t, network) })
	}
}

func testConnReads(t *testing.T, network string) {
	client, server := networkPair(t, network)
	var asked atomic.Int32
	c := Wrap(client, 200*time.Microsecond, func() bool { asked.Add(1); return true })
	if _, ok := c.(*Conn); !ok {
		t.Fatalf("Wrap of a %s connection = %T, want *Conn", network, c)
	}
	if Peek(c) != Quiet {
		t.Fatalf("Peek of a wrapped idle connection = %v, want Quiet", Peek(c))
	}
	buf := make([]byte, 16)
	// Data already there: polling does not consume it.
	server.Write([]byte("hello"))
	time.Sleep(10 * time.Millisecond)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Data that comes long after the budget: Read still waits for it.
	go func() {
		time.Sleep(50 * time.Millisecond)
		server.Write([]byte("late"))
	}()
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read of a late answer = %q, %v", buf[:n], err)
	}
	// The peer closes: Read reports the end instead of polling on.
	server.Close()
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after close = %q, %v, want EOF", buf[:n], err)
	}
	if asked.Load() != 3 {
		t.Errorf("allow asked %d times, want once per Read (3)", asked.Load())
	}
	// Deadlines still reach the connection.
	other, _ := networkPair(t, network)
	d := Wrap(other, 200*time.Microsecond, nil)
	d.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := d.Read(buf); err == nil {
		t.Fatal("Read past the deadline succeeded")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
}

func TestWrapLeavesOthers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Wrap(a, time.Millisecond, nil); got != a {
		t.Errorf("Wrap of a pipe = %T, want the pipe itself", got)
	}
	client, _ := pair(t)
	if got := Wrap(client, 0, nil); got != client {
		t.Errorf("Wrap with no budget = %T, want the connection itself", got)
	}
}
