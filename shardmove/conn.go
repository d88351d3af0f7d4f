package shardmove

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5"
)

// conninfo is a libpq key/value connection string.
func conninfo(host string, port int, db, user string) string {
	parts := []string{"host=" + conninfoValue(host), "port=" + strconv.Itoa(port), "dbname=" + conninfoValue(db), "user=" + conninfoValue(user)}
	return strings.Join(parts, " ")
}

// conninfoValue quotes a conninfo value when it needs it.
func conninfoValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " '\\\t\n") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// connectAddr opens a connection of its own (moves are rare and long;
// they stay out of the coordinator's pools and their session settings).
func (m *Mover) connectAddr(ctx context.Context, host string, port int, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(conninfo(host, port, db, m.cfg.User))
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = "distgres shard mover"
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if pgerr.Code(err) != "" {
			return nil, err
		}
		return nil, pgerr.New(pgerr.ConnectionFailure, "could not connect to %s:%d", host, port).WithDetail("%v", err)
	}
	return c, nil
}

func (m *Mover) connect(ctx context.Context, n catalog.Node, db string) (*pgx.Conn, error) {
	c, err := m.connectAddr(ctx, n.Host, n.Port, db)
	if err != nil {
		if pe, ok := err.(*pgerr.Error); ok && pe.Code == pgerr.ConnectionFailure {
			return nil, pgerr.New(pgerr.ConnectionFailure, "could not connect to data node %s at %s:%d", n.Name, n.Host, n.Port).WithDetail("%s", pe.Detail)
		}
		return nil, fmt.Errorf("data node %s: %w", n.Name, err)
	}
	return c, nil
}

// exec runs one or more statements (simple protocol) on a new connection.
func (m *Mover) exec(ctx context.Context, n catalog.Node, db string, sql ...string) error {
	c, err := m.connect(ctx, n, db)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for _, s := range sql {
		if _, err := c.Exec(ctx, s, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("data node %s: %w", n.Name, err)
		}
	}
	return nil
}

// sourceConninfo is how the target's subscription reaches the source.
func (m *Mover) sourceConninfo(n catalog.Node) string {
	s := conninfo(n.Host, n.Port, m.cfg.ShardDB, m.cfg.User)
	if pw := os.Getenv("PGPASSWORD"); pw != "" {
		s += " password=" + conninfoValue(pw)
	}
	return s
}
