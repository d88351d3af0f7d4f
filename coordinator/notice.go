package coordinator

import (
	"context"
	"net"

	"github.com/distgres/distgres/netspin"
	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConfigurePool hooks a data-node pool into the coordinator: notices a
// data node sends while serving a session reach that session's client,
// what the coordinator remembers about a connection goes when it closes,
// and reads poll the socket briefly before parking (pollGate).
// Pass it as datanode.PoolOptions.Configure.
func (s *Server) ConfigurePool(nodeID int32, database string, cfg *pgxpool.Config) error {
	cfg.ConnConfig.OnNotice = s.onNotice
	if dial := cfg.ConnConfig.DialFunc; dial != nil {
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return netspin.Wrap(c, pollBudget, s.poll.node), nil
		}
	}
	cfg.BeforeClose = func(c *pgx.Conn) {
		pc := c.PgConn()
		s.settings.set(pc, "")
		s.stmts.Forget(pc)
		s.owners.Delete(pc)
	}
	return nil
}

func (s *Server) onNotice(pc *pgconn.PgConn, n *pgconn.Notice) {
	if v, ok := s.owners.Load(pc); ok {
		v.(*session).queueNotice(n)
	}
}

// queueNotice keeps a data node's notice for the client. Notices arrive
// on whichever goroutine reads that node, so they are queued and written
// by the session before the statement's result ends; identical notices
// from several shards are sent once.
func (ss *session) queueNotice(n *pgconn.Notice) {
	if n.Message == `schema "pg_temp" does not exist, skipping` {
		// The pull tier clears its temporary tables before it makes them;
		// on a connection without temporary tables yet, that is not news.
		return
	}
	ss.noticeMu.Lock()
	defer ss.noticeMu.Unlock()
	for _, q := range ss.notices {
		if q.Code == n.Code && q.Message == n.Message && q.Detail == n.Detail {
			return
		}
	}
	if len(ss.notices) < 100 {
		ss.notices = append(ss.notices, n)
	}
}

// drainNotices sends the queued notices.
func (ss *session) drainNotices() {
	ss.noticeMu.Lock()
	ns := ss.notices
	ss.notices = nil
	ss.noticeMu.Unlock()
	for _, n := range ns {
		ss.w.send(&pgproto3.NoticeResponse{
			Severity: n.Severity, SeverityUnlocalized: n.SeverityUnlocalized, Code: n.Code, Message: n.Message,
			Detail: n.Detail, Hint: n.Hint, Where: n.Where, SchemaName: n.SchemaName, TableName: n.TableName,
		})
	}
}
