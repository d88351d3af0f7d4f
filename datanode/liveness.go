package datanode

import (
	"context"
	"time"

	"github.com/distgres/distgres/netspin"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pingAfterIdle is how long a pooled connection may sit unused before it
// is checked when acquired.
const pingAfterIdle = time.Second

// shouldPing replaces pgxpool's default of pinging every connection idle
// for a second (a data node round trip the client did not ask for) by a
// look at the socket: only a connection whose server closed it or sent
// something unasked (often a FATAL before closing) is pinged, which drops
// it from the pool if it is dead.
func shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration <= pingAfterIdle {
		return false
	}
	return netspin.Peek(p.Conn.PgConn().Conn()) != netspin.Quiet
}
