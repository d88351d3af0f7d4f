package datanode

import (
	"context"
	"testing"
	"time"
)

func TestLocalSocket(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
	}{
		{"127.0.0.1:5433", "@distgres/.s.PGSQL.5433"},
		{"[::ffff:127.0.0.1]:5433", "@distgres/.s.PGSQL.5433"},
		// Other loopback addresses at the same port may be other servers.
		{"127.0.0.2:6000", ""},
		{"localhost:5432", ""},
		{"[::1]:7000", ""},
		{"10.0.0.7:5432", ""},
		{"127.0.0.1:", ""},
		{"node1.example:5432", ""},
		{"[::ffff:10.0.0.1]:5432", ""},
		{"127.0.0.1", ""}, // no port
	} {
		got, ok := localSocket(tc.addr)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("localSocket(%q) = %q, %v; want %q", tc.addr, got, ok, tc.want)
		}
	}
}

// TestPoolsUseLocalSocket checks that pools reach a data node on this
// machine through its Unix socket, and a node without one over TCP.
func TestPoolsUseLocalSocket(t *testing.T) {
	t.Parallel()
	withSocket := startServer(t)

	// A node initialized before nodes had a socket.
	dir := newDataDir(t)
	appendConf(t, dir, "unix_socket_directories = ''")
	withoutSocket := startServerIn(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	pools := NewPools(PoolOptions{})
	defer pools.Close()
	for _, tc := range []struct {
		name     string
		server   *Server
		host     string
		wantUnix bool
	}{
		{"loopback address", withSocket, "127.0.0.1", true},
		{"localhost", withSocket, "localhost", true},
		{"node without a socket", withoutSocket, "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pools.Get(ctx, 1, tc.host, tc.server.Port(), "postgres")
			if err != nil {
				t.Fatal(err)
			}
			// inet_server_addr() is NULL on a Unix socket connection.
			var unix bool
			if err := p.QueryRow(ctx, "SELECT inet_server_addr() IS NULL").Scan(&unix); err != nil {
				t.Fatal(err)
			}
			if unix != tc.wantUnix {
				t.Errorf("connected through a Unix socket: %v, want %v", unix, tc.wantUnix)
			}
		})
	}
}
