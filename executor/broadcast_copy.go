package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
)

// Shipped rows past copyShippedAbove bytes per node do not belong in
// statement text: a Broadcast whose plan's nodes are known ships them
// through temporary tables instead. On each node running Plan it holds one
// session with a transaction open, streams the shipped rows into temporary
// tables there with binary COPY (a repartitioned table into a table
// partitioned by the anchor's shard, so each shard's fragment reads its
// own partition), runs Plan on those sessions and rolls the transactions
// back, which drops the tables. Tables going whole to every node are
// bounded by Runtime.MaxBroadcastBytes (past it the statement is pulled);
// repartitioned ones, which send each row once, by
// Runtime.MaxIntermediateBytes only. Only outside transaction blocks: a
// transaction that touched a temporary table cannot be prepared for
// two-phase commit.

// openCopied ships through temporary tables. kept holds the rows read so
// far of the first tables (the last one of them read in part), rest the
// rest of that one's rows.
func (b *Broadcast) openCopied(ctx context.Context, rt *Runtime, params Params, kept [][][][]byte, rest Rows) (rows Rows, err error) {
	if rt.ShipSlots != nil {
		select {
		case rt.ShipSlots <- struct{}{}:
		default:
			// Waiting for a slot while holding the sources' sessions
			// would keep them from the statements holding the slots:
			// let them go, and read again.
			if rest != nil {
				rest.Close()
			}
			kept, rest = nil, nil
			select {
			case rt.ShipSlots <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	held := &heldConns{db: b.Database, conns: map[catalog.NodeID]*heldConn{}, slots: rt.ShipSlots}
	defer func() {
		if rest != nil {
			rest.Close()
		}
		// Neither a failure nor a bug may keep the sessions from their
		// pools.
		if r := recover(); r != nil {
			held.end(ctx)
			panic(r)
		}
		if err != nil {
			held.end(ctx)
		}
	}()
	nodes := b.Nodes
	for _, n := range nodes {
		c, err := rt.Conns.Acquire(ctx, n, b.Database)
		if err != nil {
			return nil, err
		}
		h := &heldConn{Conn: c}
		held.conns[n.ID] = h
		if _, err := c.PgConn().Exec(ctx, "BEGIN").ReadAll(); err != nil {
			h.broken = true
			return nil, err
		}
	}
	srt := *rt
	srt.ResultFormats = nil
	var pairs []string
	var sent shipSent
	for i, t := range b.Tables {
		var source Rows
		switch {
		case i < len(kept)-1:
			source = &keptRows{rows: kept[i]}
		case i == len(kept)-1:
			source, rest = &keptRows{rows: kept[i], rest: rest}, nil
		default:
			if source, err = t.open(ctx, &srt, t.params(params), TextFormat); err != nil {
				return nil, err
			}
		}
		names, err := copyShipped(ctx, &srt, held, nodes, i, t, source, &sent)
		if errors.Is(err, errTooLarge) {
			// A table going whole to every node, past the bound.
			held.end(ctx)
			return openStep(ctx, rt, b.Fallback, params)
		}
		if err != nil {
			return nil, err
		}
		for j, name := range names {
			pairs = append(pairs, b.Placeholders[i][j], name)
		}
	}
	note(rt, b, fmt.Sprintf("shipped %d bytes through temporary tables on %d nodes", sent.total, len(nodes)))
	prt := *rt
	prt.Conns = held
	prt.Inlined = strings.NewReplacer(pairs...)
	if rows, err = openStep(ctx, &prt, b.Plan, params); err != nil {
		return nil, err
	}
	return &heldRows{Rows: rows, held: held, ctx: ctx}, nil
}

// shipSent counts the bytes a Broadcast copied: in all, and of tables
// going whole to every node (once, not per node).
type shipSent struct{ total, whole int64 }

// copyShipped creates shipped table i's temporary tables on the nodes and
// copies its rows into them. It returns what replaces each of the table's
// placeholders.
func copyShipped(ctx context.Context, rt *Runtime, held *heldConns, nodes []catalog.Node, i int, t InlineTable, rows Rows, sent *shipSent) ([]string, error) {
	defer rows.Close()
	temp := fmt.Sprintf("distgres_ship_%d", i)
	cols := make([]string, len(t.Names))
	for c := range cols {
		cols[c] = t.Names[c] + " " + t.Types[c]
	}
	colList := strings.Join(t.Names, ", ")
	part := t.Partition
	var names []string
	for _, n := range nodes {
		var ddl []string
		if part == nil {
			ddl = append(ddl, "CREATE TEMPORARY TABLE "+temp+" ("+strings.Join(cols, ", ")+")")
		} else {
			ddl = append(ddl, "CREATE TEMPORARY TABLE "+temp+" (distgres_shard int, "+strings.Join(cols, ", ")+") PARTITION BY LIST (distgres_shard)")
			for j, sn := range part.Nodes {
				if sn.ID == n.ID {
					ddl = append(ddl, fmt.Sprintf("CREATE TEMPORARY TABLE %s_%d PARTITION OF %s FOR VALUES IN (%d)", temp, j, temp, j))
				}
			}
		}
		if _, err := held.conns[n.ID].PgConn().Exec(ctx, strings.Join(ddl, "; ")).ReadAll(); err != nil {
			held.conns[n.ID].broken = true
			return nil, err
		}
	}
	if part == nil {
		names = []string{"pg_temp." + temp}
	} else {
		for j := range part.Nodes {
			names = append(names, fmt.Sprintf("(SELECT %s FROM pg_temp.%s_%d)", colList, temp, j))
		}
	}

	// One COPY per node, fed by one reader of the sources.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writers := map[catalog.NodeID]*bufio.Writer{}
	pipes := map[catalog.NodeID]*io.PipeWriter{}
	errs := make(chan error, len(nodes))
	var wg sync.WaitGroup
	for _, n := range nodes {
		pr, pw := io.Pipe()
		pipes[n.ID] = pw
		writers[n.ID] = bufio.NewWriterSize(pw, 64<<10)
		h := held.conns[n.ID]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.PgConn().CopyFrom(ctx, pr, "COPY pg_temp."+temp+" FROM STDIN")
			pr.CloseWithError(io.ErrClosedPipe)
			if err != nil {
				h.broken = true
				cancel()
			}
			errs <- err
		}()
	}
	err := routeRows(rt, t, rows, nodes, writers, sent)
	for id, w := range writers {
		if err == nil {
			err = w.Flush()
		}
		pipes[id].CloseWithError(err)
	}
	wg.Wait()
	close(errs)
	for cerr := range errs {
		// A COPY's own failure explains why the reading stopped.
		if cerr != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.ErrClosedPipe)) {
			err = cerr
		}
	}
	if err != nil {
		return nil, err
	}
	return names, nil
}

// routeRows writes each of a shipped table's rows (text) to the COPY
// streams of the nodes that need it: every node for a table shipped whole;
// for a repartitioned one, the node of each shard it goes to (see
// shardsOf), with that shard as first column. It closes rows.
func routeRows(rt *Runtime, t InlineTable, rows Rows, nodes []catalog.Node, writers map[catalog.NodeID]*bufio.Writer, sent *shipSent) error {
	part := t.Partition
	var shards [][]byte
	if part != nil {
		for j := range part.Nodes {
			shards = append(shards, []byte(strconv.Itoa(j)))
		}
	}
	write := func(node catalog.NodeID, first []byte, vals [][]byte) error {
		w := writers[node]
		if w == nil {
			return nil // no fragment runs there (the plan is routed elsewhere)
		}
		sent.total += writeCopyTextRow(w, first, vals)
		if rt.MaxIntermediateBytes > 0 && sent.total > rt.MaxIntermediateBytes {
			return tooLarge(rt.MaxIntermediateBytes)
		}
		return nil
	}
	var err error
	for err == nil && rows.Next() {
		vals := rows.Values()
		if part == nil {
			before := sent.total
			for _, n := range nodes {
				if err = write(n.ID, nil, vals); err != nil {
					break
				}
			}
			sent.whole += (sent.total - before) / int64(max(len(nodes), 1))
			if err == nil && rt.MaxBroadcastBytes > 0 && sent.whole > rt.MaxBroadcastBytes {
				err = errTooLarge
			}
			continue
		}
		for _, j := range part.shardsOf(vals, TextFormat) {
			if err = write(part.Nodes[j].ID, shards[j], vals); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = rows.Err()
	}
	if _, cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeCopyTextRow writes one row of a text-format COPY stream: first (if
// not nil), then vals (text values, nil for NULL). It returns the bytes
// written.
func writeCopyTextRow(w *bufio.Writer, first []byte, vals [][]byte) int64 {
	n := 0
	if first != nil {
		w.Write(first)
		w.WriteByte('\t')
		n += len(first) + 1
	}
	for i, v := range vals {
		if i > 0 {
			w.WriteByte('\t')
			n++
		}
		if v == nil {
			w.WriteString("\\N")
			n += 2
			continue
		}
		for _, c := range v {
			esc := copyTextEscapes[c]
			if esc == "" {
				w.WriteByte(c)
				n++
				continue
			}
			w.WriteString(esc)
			n += len(esc)
		}
	}
	w.WriteByte('\n')
	return int64(n + 1)
}

// copyTextEscapes are the bytes text-format COPY escapes.
var copyTextEscapes = [256]string{'\\': `\\`, '\t': `\t`, '\n': `\n`, '\r': `\r`}

// keptRows replays rows kept in memory, then continues with rest.
type keptRows struct {
	rows [][][]byte
	rest Rows
	i    int
	cur  [][]byte
}

func (k *keptRows) Next() bool {
	if k.i < len(k.rows) {
		k.cur = k.rows[k.i]
		k.rows[k.i] = nil // let it go
		k.i++
		return true
	}
	if k.rest != nil && k.rest.Next() {
		k.cur = k.rest.Values()
		return true
	}
	return false
}

func (k *keptRows) Values() [][]byte { return k.cur }

func (k *keptRows) Err() error {
	if k.rest != nil {
		return k.rest.Err()
	}
	return nil
}

func (k *keptRows) Close() (string, error) {
	if k.rest == nil {
		return "", nil
	}
	rest := k.rest
	k.rest = nil
	return rest.Close()
}

// heldConns lends Plan the sessions holding the shipped tables: one per
// node, in the shard database.
type heldConns struct {
	db    string
	conns map[catalog.NodeID]*heldConn
	// slots is Runtime.ShipSlots: end gives the statement's slot back.
	slots chan struct{}
}

type heldConn struct {
	Conn
	lent, broken bool
}

var _ ConnSource = (*heldConns)(nil)

func (h *heldConns) Acquire(ctx context.Context, node catalog.Node, db string) (Conn, error) {
	c := h.conns[node.ID]
	if c == nil || db != h.db || c.lent {
		return nil, pgerr.New(pgerr.InternalError, "no session holding the shipped rows on node %s for this fragment", node.Name)
	}
	c.lent = true
	return lentConn{c}, nil
}

// end rolls back the held sessions' transactions (dropping the shipped
// tables) and returns them.
func (h *heldConns) end(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, c := range h.conns {
		broken := c.broken || c.PgConn().IsClosed()
		if !broken {
			if _, err := c.PgConn().Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
				broken = true
			}
		}
		c.Conn.Release(broken)
	}
	if h.conns != nil && h.slots != nil {
		<-h.slots
	}
	h.conns = nil
}

// lentConn is a held session lent to one fragment: releasing it hands it
// back to the Broadcast, which returns it to the pool at the end.
type lentConn struct{ c *heldConn }

func (l lentConn) PgConn() *pgconn.PgConn { return l.c.PgConn() }
func (l lentConn) Retryable() bool        { return false }
func (l lentConn) Release(broken bool) {
	l.c.lent = false
	l.c.broken = l.c.broken || broken
}

// heldRows returns the held sessions when the statement's rows close.
type heldRows struct {
	Rows
	held *heldConns
	ctx  context.Context
	once sync.Once
}

func (r *heldRows) Close() (string, error) {
	tag, err := r.Rows.Close()
	r.once.Do(func() { r.held.end(r.ctx) })
	return tag, err
}
