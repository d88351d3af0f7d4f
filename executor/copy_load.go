package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgx/v5/pgconn"
)

// CopyLoader streams COPY rows into the shards of a table: rows are
// buffered per shard and each full buffer goes, as one COPY into that
// shard, to a worker per data node, so nodes load in parallel while the
// coordinator reads on; memory stays bounded by the buffers and a short
// queue per node.
type CopyLoader struct {
	conns    ConnSource
	table    *catalog.Table
	snap     *catalog.Snapshot
	database string
	sql      func(catalog.Shard) (string, error)
	binary   bool
	batch    int

	bufs []*copyBatch
	rr   int // round robin: the shard being filled
	// inserted counts the rows the shards report inserted (a COPY's WHERE
	// may skip some), each batch counted on its first placement only.
	inserted atomic.Int64
	workers  map[catalog.NodeID]*copyWorker
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu  sync.Mutex
	err error
}

// copyBatch is the rows of one shard waiting to be sent.
type copyBatch struct {
	shard int
	data  bytes.Buffer
	lines []int64 // input line of each row, to report errors by them
}

type copyWorker struct {
	node  catalog.Node
	queue chan *copyBatch
}

// CopyLoaderOptions configure a CopyLoader.
type CopyLoaderOptions struct {
	Conns    ConnSource
	Table    *catalog.Table
	Catalog  *catalog.Snapshot
	Database string
	// SQL is the COPY ... FROM STDIN statement of a shard.
	SQL    func(catalog.Shard) (string, error)
	Binary bool
	// BatchBytes is the size at which a shard's rows are sent (default
	// 256 KiB).
	BatchBytes int
}

// NewCopyLoader returns a loader; Finish or Abort must be called.
func NewCopyLoader(ctx context.Context, o CopyLoaderOptions) *CopyLoader {
	if o.BatchBytes <= 0 {
		o.BatchBytes = 256 << 10
	}
	l := &CopyLoader{conns: o.Conns, table: o.Table, snap: o.Catalog, database: o.Database, sql: o.SQL,
		binary: o.Binary, batch: o.BatchBytes, bufs: make([]*copyBatch, len(o.Table.Shards)),
		workers: map[catalog.NodeID]*copyWorker{}}
	l.ctx, l.cancel = context.WithCancel(ctx)
	return l
}

// Add queues a row for shard (an index in the table's shards; -1 for a
// table without a distribution column: round robin, or the one shard of a
// replicated table).
func (l *CopyLoader) Add(shard int, row []byte, line int64) error {
	if err := l.failed(); err != nil {
		return err
	}
	if shard < 0 {
		shard = l.rr
	}
	b := l.bufs[shard]
	if b == nil {
		b = &copyBatch{shard: shard}
		if l.binary {
			b.data.Write(CopyBinaryHeader)
		}
		l.bufs[shard] = b
	}
	b.data.Write(row)
	b.lines = append(b.lines, line)
	if b.data.Len() >= l.batch {
		l.bufs[shard] = nil
		if l.table.Method == catalog.MethodRoundRobin {
			l.rr = (l.rr + 1) % len(l.table.Shards)
		}
		return l.send(b)
	}
	return nil
}

// send hands a full batch to the workers of the shard's placements.
func (l *CopyLoader) send(b *copyBatch) error {
	if l.binary {
		b.data.Write(CopyBinaryTrailer)
	}
	for _, id := range l.table.Shards[b.shard].Placements {
		w := l.workers[id]
		if w == nil {
			n, ok := l.snap.Node(id)
			if !ok {
				return fmt.Errorf("executor: shard %d is placed on unknown node %d", l.table.Shards[b.shard].ID, id)
			}
			w = &copyWorker{node: n, queue: make(chan *copyBatch, 2)}
			l.workers[id] = w
			l.wg.Add(1)
			go l.work(w)
		}
		select {
		case w.queue <- b:
		case <-l.ctx.Done():
			if err := l.failed(); err != nil {
				return err
			}
			return l.ctx.Err()
		}
	}
	return nil
}

// work loads one node's batches, one COPY per batch, on the connection
// the session holds for that node in its transaction.
func (l *CopyLoader) work(w *copyWorker) {
	defer l.wg.Done()
	for b := range w.queue {
		if l.failed() != nil {
			continue
		}
		if err := l.load(w.node, b); err != nil {
			l.fail(err)
		}
	}
}

func (l *CopyLoader) load(n catalog.Node, b *copyBatch) error {
	sh := l.table.Shards[b.shard]
	sql, err := l.sql(sh)
	if err != nil {
		return err
	}
	c, err := l.conns.Acquire(l.ctx, n, l.database)
	if err != nil {
		return err
	}
	tag, err := c.PgConn().CopyFrom(l.ctx, bytes.NewReader(b.data.Bytes()), sql)
	c.Release(err != nil && !pgerr.FromDataNode(err))
	if err != nil {
		return l.rowError(err, b, sh)
	}
	if n.ID == sh.Placements[0] {
		l.inserted.Add(tag.RowsAffected())
	}
	return nil
}

// shardLine finds "COPY <shard>, line N" in a data node's error context.
var shardLine = regexp.MustCompile(`^COPY [^,]+, line (\d+)`)

// rowError reports a data node's error about a row by the table's name
// and the row's line in the client's input.
func (l *CopyLoader) rowError(err error, b *copyBatch, sh catalog.Shard) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	c := *pe
	if m := shardLine.FindStringSubmatchIndex(c.Where); m != nil {
		n, _ := strconv.Atoi(c.Where[m[2]:m[3]])
		if l.binary {
			n-- // the node counts the header's line
		}
		if n >= 1 && n <= len(b.lines) {
			c.Where = fmt.Sprintf("COPY %s, line %d", l.table.Name, b.lines[n-1]) + c.Where[m[1]:]
		}
	}
	return &c
}

func (l *CopyLoader) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		l.cancel()
	}
}

func (l *CopyLoader) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Finish sends what is buffered, waits for every node, and returns the
// number of rows inserted.
func (l *CopyLoader) Finish() (int64, error) {
	var err error
	for i, b := range l.bufs {
		if b != nil && err == nil {
			l.bufs[i] = nil
			err = l.send(b)
		}
	}
	for _, w := range l.workers {
		close(w.queue)
	}
	l.wg.Wait()
	l.cancel()
	if ferr := l.failed(); ferr != nil {
		return 0, ferr
	}
	return l.inserted.Load(), err
}

// Abort stops the workers without sending what is buffered; the caller
// rolls the transaction back.
func (l *CopyLoader) Abort() {
	l.fail(context.Canceled)
	for _, w := range l.workers {
		close(w.queue)
	}
	l.wg.Wait()
}
