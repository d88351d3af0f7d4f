package executor

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
)

// StatementCache remembers the statements prepared on each data-node
// connection, so that a fragment run again on the same connection skips
// parsing and planning on the node. A statement is prepared on its second
// use on a connection; one-off statements never are.
type StatementCache struct {
	conns sync.Map // *pgconn.PgConn -> *connStatements
	next  atomic.Uint64
	// MaxPerConn bounds the statements prepared on one connection.
	MaxPerConn int
}

type connStatements struct {
	mu sync.Mutex
	// prepared holds each prepared statement's description: with it a run
	// binds and executes without asking the node to describe the result
	// again (no Describe message, no RowDescription answer).
	prepared map[string]*pgconn.StatementDescription
	seen     map[string]bool
}

func (c *StatementCache) forConn(pc *pgconn.PgConn) *connStatements {
	if v, ok := c.conns.Load(pc); ok {
		return v.(*connStatements)
	}
	v, _ := c.conns.LoadOrStore(pc, &connStatements{prepared: map[string]*pgconn.StatementDescription{}, seen: map[string]bool{}})
	return v.(*connStatements)
}

func stmtKey(sql string, oids []uint32) string {
	if len(oids) == 0 {
		return sql
	}
	var b strings.Builder
	for _, o := range oids {
		b.WriteString(strconv.FormatUint(uint64(o), 10))
		b.WriteByte(',')
	}
	b.WriteByte(0)
	b.WriteString(sql)
	return b.String()
}

// lookup returns the statement prepared for sql on pc, or whether it
// should be prepared now (second use).
func (c *StatementCache) lookup(pc *pgconn.PgConn, key string) (sd *pgconn.StatementDescription, prepare bool) {
	cs := c.forConn(pc)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if sd, ok := cs.prepared[key]; ok {
		return sd, false
	}
	max := c.MaxPerConn
	if max == 0 {
		max = 512
	}
	if len(cs.prepared) >= max {
		return nil, false
	}
	if cs.seen[key] {
		return nil, true
	}
	if len(cs.seen) >= 4*max {
		clear(cs.seen)
	}
	cs.seen[key] = true
	return nil, false
}

// newName returns a statement name not used before on any connection.
func (c *StatementCache) newName() string {
	return fmt.Sprintf("distgres_%d", c.next.Add(1))
}

func (c *StatementCache) store(pc *pgconn.PgConn, key string, sd *pgconn.StatementDescription) {
	cs := c.forConn(pc)
	cs.mu.Lock()
	cs.prepared[key] = sd
	cs.mu.Unlock()
}

func (c *StatementCache) forget(pc *pgconn.PgConn, key string) {
	cs := c.forConn(pc)
	cs.mu.Lock()
	delete(cs.prepared, key)
	cs.mu.Unlock()
}

// Forget drops everything known about a connection (it was closed).
func (c *StatementCache) Forget(pc *pgconn.PgConn) {
	c.conns.Delete(pc)
}
