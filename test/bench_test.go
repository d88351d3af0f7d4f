package test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/planner"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// BenchmarkPointLookup compares the latency of a point lookup by
// distribution key through the coordinator with the same lookup sent
// straight to the data node that holds the row, in the same run. It
// reports ns/op of each and their ratio (coordinator/direct), for the
// extended protocol (prepared) and the simple protocol.
//
//	go test ./test -run '^$' -bench PointLookup -benchtime 5000x
func BenchmarkPointLookup(b *testing.B) {
	c := harness.Start(b, harness.Options{Nodes: 3, Shards: 32})
	ctx := context.Background()
	setup, err := pgx.Connect(ctx, harness.URL(c.ClientURL))
	if err != nil {
		b.Fatal(err)
	}
	defer setup.Close(ctx)
	if _, err := setup.Exec(ctx, "CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))"); err != nil {
		b.Fatal(err)
	}
	const rows = 10000
	for start := 1; start <= rows; start += 1000 {
		var sb strings.Builder
		sb.WriteString("INSERT INTO accounts VALUES ")
		for i := start; i < start+1000; i++ {
			if i > start {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, "(%d, %d, 0, '')", i, i%10)
		}
		if _, err := setup.Exec(ctx, sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	// The shard and node that hold aid = 4242.
	const key = 4242
	snap := c.Catalog().Snapshot()
	tbl, _ := snap.Table("public", "accounts")
	var keyShardSQL, nodeURL string
	for i, sh := range tbl.Shards {
		var n int
		shardName := planner.ShardTableName(tbl, sh)
		node, _ := snap.Node(sh.Placements[0])
		for j, name := range c.Names {
			if name == node.Name {
				n = j
			}
		}
		conn, err := pgx.Connect(ctx, harness.URL(c.ShardURL(n)))
		if err != nil {
			b.Fatal(err)
		}
		var cnt int
		err = conn.QueryRow(ctx, "SELECT count(*) FROM "+shardName+" WHERE aid = $1", key).Scan(&cnt)
		conn.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if cnt == 1 {
			keyShardSQL = "SELECT abalance FROM " + shardName + " WHERE aid = $1"
			nodeURL = c.ShardURL(n)
			_ = i
		}
	}
	if keyShardSQL == "" {
		b.Fatal("row not found on any shard")
	}
	for _, mode := range []struct {
		name string
		mode pgx.QueryExecMode
	}{{"prepared", pgx.QueryExecModeCacheStatement}, {"simple", pgx.QueryExecModeSimpleProtocol}} {
		b.Run(mode.name, func(b *testing.B) {
			direct := connectMode(b, nodeURL, mode.mode)
			coord := connectMode(b, c.ClientURL, mode.mode)
			run := func(conn *pgx.Conn, sql string) time.Duration {
				var v int
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if err := conn.QueryRow(ctx, sql, key).Scan(&v); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(start)
			}
			// Warm both paths, then interleave rounds to share the noise.
			run(direct, keyShardSQL)
			run(coord, "SELECT abalance FROM accounts WHERE aid = $1")
			b.ResetTimer()
			var d, co time.Duration
			for round := 0; round < 3; round++ {
				d += run(direct, keyShardSQL)
				co += run(coord, "SELECT abalance FROM accounts WHERE aid = $1")
			}
			b.StopTimer()
			n := float64(3 * b.N)
			b.ReportMetric(float64(d.Nanoseconds())/n, "direct-ns/op")
			b.ReportMetric(float64(co.Nanoseconds())/n, "coordinator-ns/op")
			b.ReportMetric(float64(co)/float64(d), "ratio")
			// What the query path pays to see the catalog: one snapshot
			// read (an atomic load), next to the whole statement.
			store := c.Catalog()
			const reads = 1_000_000
			start := time.Now()
			var v uint64
			for i := 0; i < reads; i++ {
				v += store.Snapshot().Version()
			}
			snapNs := float64(time.Since(start).Nanoseconds()) / reads
			b.ReportMetric(snapNs, "snapshot-ns/op")
			b.Logf("%s: direct %.1f µs, coordinator %.1f µs, ratio %.2fx; catalog snapshot read %.1f ns (%.4f%% of the coordinator's time per query; version %d)", mode.name,
				float64(d.Microseconds())/n, float64(co.Microseconds())/n, float64(co)/float64(d),
				snapNs, 100*snapNs/(float64(co.Nanoseconds())/n), v/reads)
		})
	}
}

func connectMode(b *testing.B, url string, mode pgx.QueryExecMode) *pgx.Conn {
	cfg, err := pgx.ParseConfig(harness.URL(url))
	if err != nil {
		b.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// BenchmarkDDL compares a CREATE TABLE + DROP TABLE pair through the
// coordinator (two global transactions: Raft intent, PREPARE on every
// node's shell and shard database, Raft decision, COMMIT PREPARED) with
// the same pair on stock PostgreSQL, in the same run. The test cluster's
// data nodes run with fsync off on tmpfs, as does the reference server;
// BenchmarkRaftApply in package catalog measures the Raft commit on disk.
//
//	go test ./test -run '^$' -bench DDL -benchtime 50x
func BenchmarkDDL(b *testing.B) {
	c := harness.Start(b, harness.Options{Nodes: 2, Shards: 4})
	ref := harness.StartPostgres(b)
	ctx := context.Background()
	run := func(url string) time.Duration {
		conn := connectMode(b, url, pgx.QueryExecModeSimpleProtocol)
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if _, err := conn.Exec(ctx, "CREATE TABLE bench_ddl (id int PRIMARY KEY, v text)"); err != nil {
				b.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "DROP TABLE bench_ddl"); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	run(ref)
	run(c.ClientURL)
	b.ResetTimer()
	d := run(ref)
	co := run(c.ClientURL)
	b.StopTimer()
	n := float64(2 * b.N)
	b.ReportMetric(float64(d.Microseconds())/n, "direct-µs/stmt")
	b.ReportMetric(float64(co.Microseconds())/n, "coordinator-µs/stmt")
	b.ReportMetric(float64(co)/float64(d), "ratio")
	b.Logf("DDL statement: stock PostgreSQL %.0f µs, distgres (2 nodes x 4 shards) %.0f µs, ratio %.1fx",
		float64(d.Microseconds())/n, float64(co.Microseconds())/n, float64(co)/float64(d))
}

// BenchmarkCommit measures commits per second of a transaction that
// writes on one data node (a plain COMMIT) and of one that writes on two
// (two-phase commit with the decision in the Raft log), with 8 clients,
// and prints their ratio.
//
//	go test ./test -run '^$' -bench Commit -benchtime 4000x
func BenchmarkCommit(b *testing.B) {
	c := harness.Start(b, harness.Options{Nodes: 2, Shards: 4})
	ctx := context.Background()
	setup := connectMode(b, c.ClientURL, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE bench_commit (id int PRIMARY KEY, n bigint NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	if _, err := setup.Exec(ctx, "INSERT INTO bench_commit SELECT g, 0 FROM generate_series(1, 1000) g"); err != nil {
		b.Fatal(err)
	}
	snap := c.Catalog().Snapshot()
	tbl, _ := snap.Table("public", "bench_commit")
	nodes := snap.Nodes()
	byNode := map[int][]int{}
	for k := 1; k <= 1000; k++ {
		sh := tbl.Shards[tbl.ShardIndexForHash(catalog.HashInt4(int32(k)))]
		for i, n := range nodes {
			if n.ID == sh.Placements[0] {
				byNode[i] = append(byNode[i], k)
			}
		}
	}
	const clients = 8
	run := func(b *testing.B, twoNodes bool) float64 {
		conns := make([]*pgx.Conn, clients)
		for i := range conns {
			conns[i] = connectMode(b, c.ClientURL, pgx.QueryExecModeCacheStatement)
		}
		var wg sync.WaitGroup
		start := time.Now()
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn := conns[i]
				for j := i; j < b.N; j += clients {
					// Each client its own rows: no lock waits.
					k := j / clients
					a := byNode[0][i+clients*(k%(len(byNode[0])/clients))]
					bk := byNode[1][i+clients*(k%(len(byNode[1])/clients))]
					tx, err := conn.Begin(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := tx.Exec(ctx, "UPDATE bench_commit SET n = n + 1 WHERE id = $1", a); err != nil {
						b.Error(err)
						return
					}
					second := a
					if twoNodes {
						second = bk
					}
					if _, err := tx.Exec(ctx, "UPDATE bench_commit SET n = n - 1 WHERE id = $1", second); err != nil {
						b.Error(err)
						return
					}
					if err := tx.Commit(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(b.N) / time.Since(start).Seconds()
	}
	var one, two float64
	b.Run("one-node", func(b *testing.B) {
		one = run(b, false)
		b.ReportMetric(one, "commits/s")
	})
	b.Run("two-nodes", func(b *testing.B) {
		two = run(b, true)
		b.ReportMetric(two, "commits/s")
		if one > 0 {
			b.ReportMetric(two/one, "ratio-to-one-node")
			b.Logf("8 clients: %.0f commits/s writing on one node, %.0f writing on two (two-phase commit): %.2f×", one, two, two/one)
		}
	})
}

// BenchmarkCopyIngest compares COPY FROM STDIN of the same rows (text
// format) into a distributed table through the coordinator (3 data nodes)
// and into one stock PostgreSQL, in the same run, and prints rows/s and
// the ratio.
//
//	go test ./test -run '^$' -bench CopyIngest -benchtime 3x
func BenchmarkCopyIngest(b *testing.B) {
	const rows = 1_000_000
	var data bytes.Buffer
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&data, "%d\t%d\t0\tfiller-%d\n", i, i%10, i)
	}
	c := harness.Start(b, harness.Options{Nodes: 3, Shards: 12})
	ref := harness.StartPostgres(b)
	ctx := context.Background()
	load := func(url string) time.Duration {
		conn := connectMode(b, url, pgx.QueryExecModeSimpleProtocol)
		var total time.Duration
		for i := 0; i < b.N; i++ {
			for _, sql := range []string{"DROP TABLE IF EXISTS ingest", "CREATE TABLE ingest (aid int PRIMARY KEY, bid int, abalance int, filler text)"} {
				if _, err := conn.Exec(ctx, sql); err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			tag, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(data.Bytes()), "COPY ingest FROM STDIN")
			total += time.Since(start)
			if err != nil || tag.RowsAffected() != rows {
				b.Fatalf("COPY: %v, %v", tag, err)
			}
		}
		return total
	}
	b.ResetTimer()
	d := load(ref)
	co := load(c.ClientURL)
	b.StopTimer()
	directRate := float64(rows*b.N) / d.Seconds()
	coordRate := float64(rows*b.N) / co.Seconds()
	b.ReportMetric(directRate, "direct-rows/s")
	b.ReportMetric(coordRate, "distgres-rows/s")
	b.ReportMetric(coordRate/directRate, "ratio")
	b.Logf("COPY of %d rows: stock PostgreSQL %.0f rows/s, distgres (3 nodes) %.0f rows/s, ratio %.2f", rows, directRate, coordRate, coordRate/directRate)
}

// BenchmarkDistributedQueries compares query shapes over 1M rows with one
// stock PostgreSQL holding the same data: a join of colocated tables with
// GROUP BY (pushed down whole), a join on a column that is not the
// distribution column of both (recursive planning: the filtered side
// shipped), the same with both sides large (1M rows each: one
// repartitioned through temporary tables on the nodes), expressions over
// aggregates (finished by PostgreSQL over the combined groups), an
// aggregate over an aggregating subquery (planned on its own), a top-N
// (ORDER BY ... LIMIT 10 merged from per-shard top-Ns), and a top-N over a
// colocated join. ratio is stock PostgreSQL's time over distgres's: above
// 1, distgres is faster.
func BenchmarkDistributedQueries(b *testing.B) {
	c := harness.Start(b, harness.Options{Nodes: 3, Shards: 12})
	ref := harness.StartPostgres(b)
	ctx := context.Background()
	setup := []string{
		"CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric NOT NULL, placed date NOT NULL)",
		"CREATE TABLE order_lines (order_id bigint NOT NULL, line int NOT NULL, qty int NOT NULL, PRIMARY KEY (order_id, line))",
		"CREATE TABLE customers (cid int PRIMARY KEY, region text NOT NULL)",
		"CREATE TABLE payments (pid bigint PRIMARY KEY, order_id bigint NOT NULL, paid numeric NOT NULL)",
	}
	load := []string{
		"COPY orders FROM STDIN",
		"COPY order_lines FROM STDIN",
		"COPY customers FROM STDIN",
		"COPY payments FROM STDIN",
	}
	var orders, lines, customers, payments bytes.Buffer
	for i := 1; i <= 1_000_000; i++ {
		fmt.Fprintf(&orders, "%d\t%d\t%d.%02d\t2026-%02d-%02d\n", i, i%50_000, i%1000, i%100, i%12+1, i%28+1)
		fmt.Fprintf(&lines, "%d\t1\t%d\n", i, i%7+1)
		fmt.Fprintf(&payments, "%d\t%d\t%d.%02d\n", 2_000_000+i, (i*7919)%1_000_000+1, i%1000, i%100)
	}
	for i := 0; i < 50_000; i++ {
		fmt.Fprintf(&customers, "%d\tregion-%d\n", i, i%20)
	}
	data := [][]byte{orders.Bytes(), lines.Bytes(), customers.Bytes(), payments.Bytes()}
	for _, url := range []string{ref, c.ClientURL} {
		conn := connectMode(b, url, pgx.QueryExecModeSimpleProtocol)
		for _, s := range setup {
			if _, err := conn.Exec(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
		for i, s := range load {
			if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(data[i]), s); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	queries := []struct{ name, sql string }{
		{"colocated-join-group-by", "SELECT l.qty, count(*), sum(o.amount) FROM orders o JOIN order_lines l ON l.order_id = o.id GROUP BY l.qty"},
		{"non-colocated-join", "SELECT c.region, count(*) FROM orders o JOIN customers c ON c.cid = o.customer WHERE o.placed = '2026-03-05' GROUP BY c.region"},
		{"large-non-colocated-join", "SELECT count(*), sum(p.paid - o.amount) FROM orders o JOIN payments p ON p.order_id = o.id"},
		{"expressions-over-aggregates", "SELECT customer % 100 AS c, sum(amount) / count(*) AS mean FROM orders GROUP BY customer % 100 HAVING max(amount) - min(amount) > 10 ORDER BY mean DESC, c LIMIT 10"},
		{"aggregate-of-subquery", "SELECT avg(n), max(n) FROM (SELECT customer, count(*) AS n FROM orders GROUP BY customer) AS per_customer"},
		{"top-n", "SELECT id, amount FROM orders ORDER BY amount DESC, id LIMIT 10"},
		{"colocated-join-top-n", "SELECT o.id, l.qty FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.customer = 7 ORDER BY o.amount DESC, o.id LIMIT 10"},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			run := func(url string) time.Duration {
				conn := connectMode(b, url, pgx.QueryExecModeSimpleProtocol)
				defer conn.Close(ctx)
				var want int
				start := time.Now()
				for i := 0; i < b.N; i++ {
					rows, err := conn.Query(ctx, q.sql)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					if err := rows.Err(); err != nil {
						b.Fatal(err)
					}
					if want == 0 {
						want = n
					} else if n != want {
						b.Fatalf("%d rows, then %d", want, n)
					}
				}
				return time.Since(start)
			}
			d := run(ref)
			co := run(c.ClientURL)
			n := float64(b.N)
			b.ReportMetric(float64(d.Microseconds())/1000/n, "direct-ms/query")
			b.ReportMetric(float64(co.Microseconds())/1000/n, "distgres-ms/query")
			b.ReportMetric(float64(d)/float64(co), "ratio")
		})
	}
}
