package test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// countingProxy forwards TCP connections to a PostgreSQL server and counts
// the ReadyForQuery messages the server sends: one per round trip (a
// simple query, or an extended-protocol batch ending in Sync). Round trips
// of the coordinator's own background work (the recovery and deadlock
// passes reading pg_prepared_xacts and pg_stat_activity) are not counted.
type countingProxy struct {
	ln     net.Listener
	target string
	ready  atomic.Int64
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *countingProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *countingProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		counts := make(chan bool, 1024) // per client round trip: count its answer?
		go func() { p.clientMessages(s, c, counts); s.Close() }()
		go func() { p.serverMessages(c, s, counts); c.Close() }()
	}
}

// clientMessages copies client-to-server bytes and notes, for each round
// trip the client starts, whether its answer is to be counted.
func (p *countingProxy) clientMessages(dst io.Writer, src io.Reader, counts chan<- bool) {
	defer close(counts)
	var l [4]byte
	if _, err := io.ReadFull(src, l[:]); err != nil { // the startup message
		return
	}
	rest := make([]byte, binary.BigEndian.Uint32(l[:])-4)
	if _, err := io.ReadFull(src, rest); err != nil {
		return
	}
	dst.Write(append(l[:], rest...))
	counts <- false // the startup's ReadyForQuery
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		switch hdr[0] {
		case 'Q':
			q := string(body)
			counts <- !strings.Contains(q, "pg_stat_activity") && !strings.Contains(q, "pg_prepared_xacts")
		case 'S':
			counts <- true
		}
		if _, err := dst.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// serverMessages copies server-to-client bytes, counting the
// ReadyForQuery messages that answer counted round trips.
func (p *countingProxy) serverMessages(dst io.Writer, src io.Reader, counts <-chan bool) {
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		if hdr[0] == 'Z' && <-counts {
			p.ready.Add(1)
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		if _, err := dst.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// TestBackendRoundTrips counts, in steady state, the round trips the
// coordinator makes to the data nodes against the client's round trips:
// a router statement costs one backend round trip, whatever the protocol,
// and a scatter statement one per node (in parallel), never more.
func TestBackendRoundTrips(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 2, Shards: 4})
	ctx := context.Background()
	setup := connect(t, c.ClientURL)
	for _, sql := range []string{
		"CREATE TABLE rt (id int PRIMARY KEY, v int)",
		"INSERT INTO rt SELECT g, g FROM generate_series(1, 100) g",
	} {
		if _, err := setup.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// Send the coordinator's data node connections through counting
	// proxies, and the client's through one too.
	var nodes []*countingProxy
	for i, n := range c.Catalog().Snapshot().Nodes() {
		p := startCountingProxy(t, "127.0.0.1:"+itoa(c.Nodes[i].Port()))
		nodes = append(nodes, p)
		if _, err := c.Catalog().Apply(ctx, catalog.UpdateNode{Name: n.Name, Host: "127.0.0.1", Port: p.port()}); err != nil {
			t.Fatal(err)
		}
	}
	front := startCountingProxy(t, c.Addr.String())
	backend := func() (sum, max int64) {
		for _, p := range nodes {
			v := p.ready.Load()
			sum += v
			if v > max {
				max = v
			}
		}
		return sum, max
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg, err := pgx.ParseConfig("postgres://postgres@127.0.0.1:" + itoa(front.port()) + "/postgres?sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			cfg.DefaultQueryExecMode = mode
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			run := func(n int, sql string, args func(i int) []any) {
				for i := 0; i < n; i++ {
					rows, err := conn.Query(ctx, sql, args(i)...)
					if err != nil {
						t.Fatal(err)
					}
					rows.Close()
					if rows.Err() != nil {
						t.Fatal(rows.Err())
					}
				}
			}
			point := func(i int) []any { return []any{1 + i%100} }
			// Warm up: statements are prepared on the nodes at their
			// second use, and pooled connections get the settings.
			run(20, "SELECT v FROM rt WHERE id = $1", point)
			run(5, "SELECT sum(v) FROM rt", func(int) []any { return nil })

			c0 := front.ready.Load()
			b0, _ := backend()
			run(200, "SELECT v FROM rt WHERE id = $1", point)
			c1 := front.ready.Load()
			b1, _ := backend()
			if client, back := c1-c0, b1-b0; back > client {
				t.Errorf("router statements: %d backend round trips for %d client round trips", back, client)
			} else {
				t.Logf("router statements: %d backend round trips for %d client round trips", back, client)
			}
			_, m0 := backend()
			c2 := front.ready.Load()
			run(50, "SELECT sum(v) FROM rt", func(int) []any { return nil })
			_, m1 := backend()
			if client, back := front.ready.Load()-c2, m1-m0; back > client {
				t.Errorf("scatter statements: %d round trips on the busiest node for %d client round trips", back, client)
			}
		})
	}
}
