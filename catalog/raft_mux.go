package catalog

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// A coordinator's Raft address carries two protocols, told apart by the
// first byte a client sends: Raft's own RPCs, and catalog requests from
// other coordinators (forwarded commands, joins).
const (
	streamRaft    byte = 'R'
	streamCatalog byte = 'C'
)

// raftMux accepts connections on the Raft address and hands each to the
// Raft transport or to the catalog request handler.
type raftMux struct {
	ln      net.Listener
	raftCh  chan net.Conn
	handle  func(net.Conn)
	log     *slog.Logger
	closed  chan struct{}
	once    sync.Once
	pending sync.WaitGroup
}

func newRaftMux(ln net.Listener, handle func(net.Conn), log *slog.Logger) *raftMux {
	m := &raftMux{ln: ln, raftCh: make(chan net.Conn), handle: handle, log: log, closed: make(chan struct{})}
	go m.accept()
	return m
}

func (m *raftMux) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			m.log.Error("catalog: raft listener failed", "err", err)
			return
		}
		m.pending.Add(1)
		go func() {
			defer m.pending.Done()
			m.dispatch(c)
		}()
	}
}

func (m *raftMux) dispatch(c net.Conn) {
	var b [1]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	switch b[0] {
	case streamRaft:
		select {
		case m.raftCh <- c:
		case <-m.closed:
			c.Close()
		}
	case streamCatalog:
		m.handle(c)
	default:
		m.log.Warn("catalog: unknown stream on raft address", "remote", c.RemoteAddr(), "first_byte", b[0])
		c.Close()
	}
}

func (m *raftMux) close() {
	m.once.Do(func() {
		close(m.closed)
		m.ln.Close()
	})
}

// raftStream is the raft.StreamLayer view of the mux.
type raftStream struct{ m *raftMux }

var _ raft.StreamLayer = raftStream{}

func (s raftStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raftCh:
		return c, nil
	case <-s.m.closed:
		return nil, net.ErrClosed
	}
}

func (s raftStream) Close() error {
	s.m.close()
	return nil
}

func (s raftStream) Addr() net.Addr { return s.m.ln.Addr() }

func (s raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialStream(string(addr), streamRaft, timeout)
}

func dialStream(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
