package datanode

import (
	"context"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// SocketDir is the Unix socket directory of the data nodes InitDB creates:
// a name in Linux's abstract namespace (PostgreSQL 14 and later), so it
// needs no file, no permissions and no short path. A node listening on
// 127.0.0.1:5433 also listens on the socket "@distgres/.s.PGSQL.5433".
const SocketDir = "@distgres"

// localSocket returns the Unix socket path of the data node at addr
// (host:port) when the host is 127.0.0.1, the address InitDB's nodes
// listen on. Only there does the port name one server: the socket's
// owner holds 127.0.0.1 at that port, so no other server can, while
// another loopback address (127.0.0.2, ::1, what "localhost" resolves to)
// at the same port may be a different server.
func localSocket(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", false
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		return "", false
	}
	return SocketDir + "/.s.PGSQL." + port, true
}

// dialLocalFirst returns a DialFunc that reaches a data node on this
// machine through its Unix socket, and any other address, or a node
// without such a socket (one created before nodes had it, or not by
// InitDB), with tcp. A statement's round trip through a Unix socket costs
// both ends less CPU than through loopback TCP, whose writer runs the
// receiver's whole TCP stack.
func dialLocalFirst(tcp pgconn.DialFunc) pgconn.DialFunc {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "tcp" {
			if path, ok := localSocket(addr); ok {
				if c, err := d.DialContext(ctx, "unix", path); err == nil {
					return c, nil
				}
			}
		}
		return tcp(ctx, network, addr)
	}
}
