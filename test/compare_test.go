package test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
)

// TestCompare is the differential end-to-end test: the same 100,000 rows
// are loaded through the coordinator and into a stock PostgreSQL, then the
// data nodes are checked (every node holds rows, every row sits in the
// shard its hash selects) and a list of queries runs on both servers in
// three client modes, comparing field descriptions, rows and command tags.
//
// One cluster and one reference server are shared by all subtests.
func TestCompare(t *testing.T) {
	data := cmpGenerate()
	c := harness.Start(t, harness.Options{Nodes: 3})
	refURL := harness.StartPostgres(t)
	dist := cmpConnect(t, c.ClientURL)
	ref := cmpConnect(t, refURL)

	for _, ddl := range cmpSchema {
		cmpExec(t, dist, ddl.sql+" "+ddl.distribute)
		cmpExec(t, ref, ddl.sql)
	}

	t.Run("Load", func(t *testing.T) {
		cmpLoad(t, dist, ref, data)
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Run("NodeCounts", func(t *testing.T) {
		cmpCheckNodeCounts(t, c, "cmp_t", cmpRowCount)
		cmpCheckNodeCounts(t, c, "cmp_s", len(data.keys))
	})
	t.Run("ReferenceTable", func(t *testing.T) {
		cmpCheckReferenceTable(t, c, data)
	})
	t.Run("Hash", func(t *testing.T) {
		cmpCheckHashes(t, c, data)
	})
	t.Run("Placement", func(t *testing.T) {
		t.Run("cmp_t", func(t *testing.T) {
			cmpCheckPlacement(t, c, "cmp_t", "id", "hashint8(id)", catalog.OIDInt8, cmpStrings(data.ids), func(v string) (int32, error) {
				n, err := strconv.ParseInt(v, 10, 64)
				return catalog.HashInt8(n), err
			})
		})
		t.Run("cmp_s", func(t *testing.T) {
			cmpCheckPlacement(t, c, "cmp_s", "k", "hashtext(k)", catalog.OIDText, data.keys, func(v string) (int32, error) {
				return catalog.HashText(v), nil
			})
		})
	})
	t.Run("Queries", func(t *testing.T) {
		queries := cmpQueries(data)
		for _, mode := range cmpModes {
			t.Run(mode.name, func(t *testing.T) {
				cmpRunQueries(t, mode, cmpConnect(t, refURL), cmpConnect(t, c.ClientURL), queries)
			})
		}
	})
	t.Run("NumericBinaryWire", func(t *testing.T) {
		// The extended-binary comparisons above compare numerics by value
		// and scale; here the bytes must be PostgreSQL's own (no
		// trailing zero base-10000 digits).
		queries := []cmpQuery{
			{name: "avg_int", sql: "SELECT avg(i) FROM cmp_t", rawBinary: true},
			{name: "sum_numeric", sql: "SELECT sum(n) FROM cmp_t", rawBinary: true},
			{name: "merged_numeric_column", sql: "SELECT n FROM cmp_t WHERE n IS NOT NULL ORDER BY id LIMIT 200", ordered: true, rawBinary: true},
		}
		cmpRunQueries(t, cmpModes[2], cmpConnect(t, refURL), cmpConnect(t, c.ClientURL), queries)
	})
	t.Run("DateStyle", func(t *testing.T) {
		// A DateStyle that puts the day first: timestamptz text no longer
		// orders like the values.
		queries := []cmpQuery{
			{name: "point_param", sql: "SELECT id, ts FROM cmp_t WHERE id = $1", args: []any{data.idPos}},
			{name: "order_by_timestamptz", sql: "SELECT ts, id FROM cmp_t ORDER BY ts, id LIMIT 20", ordered: true},
			{name: "min_max_timestamptz", sql: "SELECT min(ts), max(ts) FROM cmp_t"},
			{name: "group_by_min_max_timestamptz", sql: "SELECT g, min(ts), max(ts) FROM cmp_t GROUP BY g"},
		}
		for _, mode := range cmpModes {
			t.Run(mode.name, func(t *testing.T) {
				ds := "datestyle=German"
				cmpRunQueries(t, mode, cmpConnect(t, refURL, ds), cmpConnect(t, c.ClientURL, ds), queries)
			})
		}
	})
	t.Run("TimeZone", func(t *testing.T) {
		// A session time zone with daylight saving time: timestamptz
		// values print with varying offsets, so their text no longer
		// orders like the instants they stand for.
		queries := cmpTimeZoneQueries(data)
		for _, mode := range cmpModes {
			t.Run(mode.name, func(t *testing.T) {
				tz := "timezone=America/New_York"
				cmpRunQueries(t, mode, cmpConnect(t, refURL, tz), cmpConnect(t, c.ClientURL, tz), queries)
			})
		}
	})
}

// cmpRunQueries runs every query on both servers and reports differences.
func cmpRunQueries(t *testing.T, mode cmpMode, ref, dist *pgx.Conn, queries []cmpQuery) {
	ctx := context.Background()
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			want := cmpRun(ctx, ref, mode, q.sql, q.args)
			got := cmpRun(ctx, dist, mode, q.sql, q.args)
			// The reference must give the answer the query was written
			// for, or the comparison proves nothing.
			switch {
			case q.wantErr != "" && want.ErrCode != q.wantErr:
				t.Fatalf("test query is wrong: PostgreSQL should fail with %s\n  sql: %s\n  postgres: %s", q.wantErr, q.sql, cmpSummary(want))
			case q.wantErr == "" && want.ErrCode != "":
				t.Fatalf("test query is wrong: PostgreSQL fails\n  sql: %s\n  postgres: %s", q.sql, cmpSummary(want))
			case q.wantErr == "" && q.empty != (len(want.Rows) == 0):
				t.Fatalf("test query is wrong: PostgreSQL returns %d rows, empty=%v expected\n  sql: %s", len(want.Rows), q.empty, q.sql)
			}
			if d := cmpCompare(q, want, got); d != "" {
				t.Errorf("distgres answers differently from PostgreSQL (%s protocol)\n  sql: %s\n  args: %v\n%s\n  postgres result: %s\n  distgres result: %s",
					mode.name, q.sql, q.args, d, cmpSummary(want), cmpSummary(got))
			}
		})
	}
}

// ---------------------------------------------------------------------
// Schema and data

const cmpRowCount = 100000

var cmpSchema = []struct{ sql, distribute string }{
	{`CREATE TABLE cmp_t (
		id  bigint PRIMARY KEY,
		i   int NOT NULL,
		b   bigint NOT NULL,
		n   numeric,
		f   float8,
		f2  float8 NOT NULL,
		t   text,
		ts  timestamptz,
		g   int,
		nul int
	)`, "DISTRIBUTE BY HASH(id)"},
	{`CREATE TABLE cmp_s (k text PRIMARY KEY, v int NOT NULL)`, "DISTRIBUTE BY HASH(k)"},
	{`CREATE TABLE cmp_r (g int PRIMARY KEY, label text NOT NULL)`, "DISTRIBUTE BY REPLICATION"},
}

// cmpData is the generated content of the tables.
type cmpData struct {
	ids    []int64
	tRows  []string // VALUES tuples of cmp_t
	keys   []string
	sRows  []string // VALUES tuples of cmp_s
	rRows  []string // VALUES tuples of cmp_r
	labels map[int]string

	// Picked values for point lookups.
	idNeg, idPos, idSmall int64
}

// The fall-back hour of 2021 in America/New_York: 05:00-07:00 UTC print
// as 01:xx-04 and then 01:xx-05.
var cmpFallBack = time.Date(2021, 11, 7, 5, 0, 0, 0, time.UTC)

// cmpGenerate makes the rows, the same on every run.
func cmpGenerate() *cmpData {
	r := rand.New(rand.NewPCG(20240601, 7))
	d := &cmpData{labels: map[int]string{}}
	seen := map[int64]bool{0: true} // no row has id 0
	alphabet := []rune("abcdXYZ019 _-é")
	randText := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for k := 1; len(d.ids) < cmpRowCount; k++ {
		var id int64
		if k%2 == 0 {
			id = int64(k)
		} else {
			id = int64(uint64(k)*2654435761%(1<<40)) - 1<<39
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		d.ids = append(d.ids, id)

		i := r.Int64N(2_000_001) - 1_000_000
		b := r.Int64N(1_800_000_000_000_000_001) - 900_000_000_000_000_000
		n := "NULL"
		switch {
		case r.IntN(50) == 0:
		case k%5000 == 3:
			n = "123456789012345678901234." + strconv.Itoa(k)
		default:
			scale := r.IntN(7)
			n = strconv.FormatInt(r.Int64N(2_000_000_001)-1_000_000_000, 10)
			if scale > 0 {
				frac := strconv.FormatInt(r.Int64N(int64(math.Pow10(scale))), 10)
				n += "." + strings.Repeat("0", scale-len(frac)) + frac
			}
		}
		// f holds multiples of 1/64 below 2^18, so that every sum of them
		// is exact whatever the order of the additions; f2 holds
		// arbitrary floats.
		f := "NULL"
		if r.IntN(33) != 0 {
			f = strconv.FormatFloat(float64(r.Int64N(1<<25)-1<<24)/64, 'g', -1, 64)
		}
		f2 := strconv.FormatFloat(r.NormFloat64()*1e6, 'g', -1, 64)
		txt := "NULL"
		if r.IntN(20) != 0 {
			txt = cmpLiteral(randText(r.IntN(13)))
		}
		ts := "NULL"
		switch {
		case k%1000 == 7:
			v := cmpFallBack.Add(time.Duration(r.IntN(7200)) * time.Second)
			ts = cmpLiteral(v.Format("2006-01-02 15:04:05.999999-07"))
		case r.IntN(20) != 0:
			v := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(40*365*86400)-20*365*86400) * time.Second)
			if r.IntN(3) == 0 {
				v = v.Add(time.Duration(r.IntN(1_000_000)) * time.Microsecond)
			}
			ts = cmpLiteral(v.Format("2006-01-02 15:04:05.999999-07"))
		}
		g := "NULL"
		if r.IntN(100) != 0 {
			g = strconv.Itoa(r.IntN(20))
		}
		nul := "NULL"
		if r.IntN(5) >= 2 {
			nul = strconv.Itoa(r.IntN(1000))
		}
		d.tRows = append(d.tRows, fmt.Sprintf("(%d,%d,%d,%s,%s,%s,%s,%s,%s,%s)", id, i, b, n, f, f2, txt, ts, g, nul))
	}
	for _, id := range d.ids {
		switch {
		case d.idNeg == 0 && id < -1<<35:
			d.idNeg = id
		case d.idPos == 0 && id > 1<<35:
			d.idPos = id
		case d.idSmall == 0 && id > 0 && id < 1000:
			d.idSmall = id
		}
	}
	keySeen := map[string]bool{}
	for k := 0; len(d.keys) < 5000; k++ {
		key := randText(r.IntN(30))
		if k%3 == 0 {
			key += strconv.Itoa(k)
		}
		if keySeen[key] {
			continue
		}
		keySeen[key] = true
		d.keys = append(d.keys, key)
		d.sRows = append(d.sRows, fmt.Sprintf("(%s,%d)", cmpLiteral(key), r.IntN(1000)))
	}
	for g := range 20 {
		d.labels[g] = fmt.Sprintf("L%02d", g%7)
		d.rRows = append(d.rRows, fmt.Sprintf("(%d,%s)", g, cmpLiteral(d.labels[g])))
	}
	return d
}

func cmpStrings(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// cmpLoad inserts the rows in multi-row INSERT batches through the
// coordinator and into the reference (in parallel), comparing tags.
func cmpLoad(t *testing.T, dist, ref *pgx.Conn, d *cmpData) {
	var stmts []string
	batches := func(table string, rows []string, size int) {
		for start := 0; start < len(rows); start += size {
			end := min(start+size, len(rows))
			stmts = append(stmts, "INSERT INTO "+table+" VALUES "+strings.Join(rows[start:end], ","))
		}
	}
	batches("cmp_t", d.tRows, 1000)
	batches("cmp_s", d.sRows, 1000)
	batches("cmp_r", d.rRows, 1000)

	run := func(conn *pgx.Conn) ([]string, error) {
		var tags []string
		for _, sql := range stmts {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			tag, err := conn.Exec(ctx, sql)
			cancel()
			if err != nil {
				return tags, fmt.Errorf("%s: %w", cmpShort(sql), err)
			}
			tags = append(tags, tag.String())
		}
		return tags, nil
	}
	type out struct {
		tags []string
		err  error
	}
	refDone := make(chan out, 1)
	go func() {
		tags, err := run(ref)
		refDone <- out{tags, err}
	}()
	distTags, distErr := run(dist)
	refOut := <-refDone
	if refOut.err != nil {
		t.Fatalf("loading the reference: %v", refOut.err)
	}
	if distErr != nil {
		t.Fatalf("loading through the coordinator: %v", distErr)
	}
	if !slices.Equal(refOut.tags, distTags) {
		t.Errorf("INSERT command tags differ:\n  postgres: %v\n  distgres: %v", refOut.tags, distTags)
	}
}

// ---------------------------------------------------------------------
// Data node checks

// cmpNodeIndex maps catalog node IDs to indexes of c.Nodes.
func cmpNodeIndex(t *testing.T, c *cluster.Cluster) map[catalog.NodeID]int {
	t.Helper()
	out := map[catalog.NodeID]int{}
	for _, n := range c.Catalog().Snapshot().Nodes() {
		i := slices.Index(c.Names, n.Name)
		if i < 0 {
			t.Fatalf("catalog node %d %q is not a cluster node %v", n.ID, n.Name, c.Names)
		}
		out[n.ID] = i
	}
	if len(out) != len(c.Names) {
		t.Fatalf("catalog has %d nodes, cluster %d", len(out), len(c.Names))
	}
	return out
}

func cmpShardName(table string, sh catalog.Shard) string {
	return fmt.Sprintf("%s_%d", table, sh.ID)
}

func cmpQueryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// cmpCheckNodeCounts checks that every data node holds rows of the table
// and that the nodes together hold exactly the loaded rows; and that the
// shard tables exist on their placement nodes only.
func cmpCheckNodeCounts(t *testing.T, c *cluster.Cluster, table string, want int) {
	snap := c.Catalog().Snapshot()
	tbl, ok := snap.Table("public", table)
	if !ok {
		t.Fatalf("table public.%s is not in the catalog", table)
	}
	nodeIdx := cmpNodeIndex(t, c)
	perNode := make([]int64, len(c.Nodes))
	wantTables := make([][]string, len(c.Nodes))
	for _, sh := range tbl.Shards {
		if len(sh.Placements) != 1 {
			t.Errorf("shard %d has placements %v, want one", sh.ID, sh.Placements)
		}
		for _, p := range sh.Placements {
			i := nodeIdx[p]
			wantTables[i] = append(wantTables[i], cmpShardName(table, sh))
		}
	}
	var total int64
	for i := range c.Nodes {
		conn := cmpConnect(t, c.ShardURL(i))
		rows, err := conn.Query(context.Background(), "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1 ORDER BY tablename", table+`\_%`)
		if err != nil {
			t.Fatal(err)
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(wantTables[i])
		if !slices.Equal(have, wantTables[i]) {
			t.Errorf("node %s has shard tables %v, the catalog places %v there", c.Names[i], have, wantTables[i])
		}
		for _, name := range wantTables[i] {
			perNode[i] += cmpQueryInt(t, conn, fmt.Sprintf("SELECT count(*) FROM public.%q", name))
		}
		total += perNode[i]
	}
	t.Logf("%s rows per node: %v", table, perNode)
	for i, n := range perNode {
		if n == 0 {
			t.Errorf("data node %s holds no rows of %s (per node: %v)", c.Names[i], table, perNode)
		}
	}
	if total != int64(want) {
		t.Errorf("data nodes hold %d rows of %s in total, want %d (per node: %v)", total, table, want, perNode)
	}
}

// cmpCheckReferenceTable checks that every node holds the whole reference
// table.
func cmpCheckReferenceTable(t *testing.T, c *cluster.Cluster, d *cmpData) {
	tbl, ok := c.Catalog().Snapshot().Table("public", "cmp_r")
	if !ok || !tbl.IsReference() || len(tbl.Shards) != 1 {
		t.Fatalf("cmp_r in the catalog: %+v, want a reference table with one shard", tbl)
	}
	nodeIdx := cmpNodeIndex(t, c)
	var placed []int
	for _, p := range tbl.Shards[0].Placements {
		placed = append(placed, nodeIdx[p])
	}
	slices.Sort(placed)
	if len(placed) != len(c.Nodes) {
		t.Errorf("reference table placed on nodes %v, want all %d", placed, len(c.Nodes))
	}
	var want []string
	for g := range 20 {
		want = append(want, fmt.Sprintf("%d %s", g, d.labels[g]))
	}
	for _, i := range placed {
		conn := cmpConnect(t, c.ShardURL(i))
		rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT g::text || ' ' || label FROM public.%q ORDER BY g", cmpShardName("cmp_r", tbl.Shards[0])))
		if err != nil {
			t.Fatal(err)
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(have, want) {
			t.Errorf("node %s holds reference rows %v, want %v", c.Names[i], have, want)
		}
	}
}

// cmpCheckPlacement checks that the table's shards cover the hash space
// and that every row lives in the shard whose hash range contains the hash
// of its distribution value, both by PostgreSQL's hash function (on the
// node) and by the coordinator's Go hash; and that each loaded value is
// stored exactly once.
func cmpCheckPlacement(t *testing.T, c *cluster.Cluster, table, col, pgHash string, distType uint32, values []string, goHash func(string) (int32, error)) {
	snap := c.Catalog().Snapshot()
	tbl, ok := snap.Table("public", table)
	if !ok {
		t.Fatalf("table public.%s is not in the catalog", table)
	}
	if tbl.Method != catalog.MethodHash || tbl.DistColumn != col || tbl.DistType != distType {
		t.Fatalf("catalog entry of %s: method %s column %q type %d, want hash on %q type %d", table, tbl.Method, tbl.DistColumn, tbl.DistType, col, distType)
	}
	// The hash ranges are ordered, contiguous and cover all of int32.
	next := int64(math.MinInt32)
	for _, sh := range tbl.Shards {
		if int64(sh.MinHash) != next || sh.MaxHash < sh.MinHash {
			t.Fatalf("shard %d covers [%d, %d]; the previous shard ended before %d", sh.ID, sh.MinHash, sh.MaxHash, next)
		}
		next = int64(sh.MaxHash) + 1
	}
	if next != math.MaxInt32+1 {
		t.Fatalf("shards end at %d, not at the top of the int32 range", next-1)
	}
	nodeIdx := cmpNodeIndex(t, c)
	conns := map[int]*pgx.Conn{}
	where := map[string]int64{} // value -> shard
	for _, sh := range tbl.Shards {
		for _, p := range sh.Placements {
			i := nodeIdx[p]
			if conns[i] == nil {
				conns[i] = cmpConnect(t, c.ShardURL(i))
			}
			conn := conns[i]
			name := fmt.Sprintf("public.%q", cmpShardName(table, sh))
			bad := cmpQueryInt(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s NOT BETWEEN $1 AND $2", name, pgHash), sh.MinHash, sh.MaxHash)
			if bad != 0 {
				t.Errorf("shard %d [%d, %d] on node %s: %d rows whose %s lies outside the shard's range", sh.ID, sh.MinHash, sh.MaxHash, c.Names[i], bad, pgHash)
			}
			rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT %s::text FROM %s", col, name))
			if err != nil {
				t.Fatal(err)
			}
			vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			misplaced := 0
			for _, v := range vals {
				h, err := goHash(v)
				if err != nil {
					t.Fatal(err)
				}
				if h < sh.MinHash || h > sh.MaxHash {
					if misplaced < 5 {
						t.Errorf("%s = %q (Go hash %d) is stored in shard %d [%d, %d] on node %s", col, v, h, sh.ID, sh.MinHash, sh.MaxHash, c.Names[i])
					}
					misplaced++
				}
				if other, dup := where[v]; dup {
					t.Errorf("%s = %q is stored in shards %d and %d", col, v, other, sh.ID)
				}
				where[v] = sh.ID
			}
			if misplaced > 0 {
				t.Errorf("shard %d: %d of %d rows misplaced by the Go hash", sh.ID, misplaced, len(vals))
			}
		}
	}
	missing := 0
	for _, v := range values {
		if _, ok := where[v]; !ok {
			if missing < 5 {
				t.Errorf("%s = %q was loaded but is in no shard", col, v)
			}
			missing++
		}
	}
	if missing > 0 || len(where) != len(values) {
		t.Errorf("shards hold %d distinct values, %d were loaded, %d missing", len(where), len(values), missing)
	}
}

// cmpCheckHashes compares the coordinator's hash functions with
// PostgreSQL's on a data node.
func cmpCheckHashes(t *testing.T, c *cluster.Cluster, d *cmpData) {
	conn := cmpConnect(t, c.NodeURL(0), "timezone=UTC")
	ctx := context.Background()

	t.Run("hashint8", func(t *testing.T) {
		vals := []int64{0, 1, -1, 2, -2, 42, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, math.MinInt32 - 1,
			math.MaxInt64, math.MinInt64, 1 << 32, -1 << 32, 1<<32 + 1, 0xdeadbeefcafe, -0xdeadbeefcafe}
		r := rand.New(rand.NewPCG(1, 2))
		for range 500 {
			vals = append(vals, int64(r.Uint64()), r.Int64N(1<<31)-1<<30)
		}
		vals = append(vals, d.ids[:500]...)
		pg := cmpHashes(t, conn, "SELECT hashint8(v) FROM unnest($1::int8[]) WITH ORDINALITY AS u(v, o) ORDER BY o", vals)
		bad := 0
		for i, v := range vals {
			h := catalog.HashInt8(v)
			hd, err := catalog.HashDatum(catalog.OIDInt8, strconv.FormatInt(v, 10))
			if err != nil {
				t.Fatalf("HashDatum(int8, %d): %v", v, err)
			}
			if (h != pg[i] || hd != pg[i]) && bad < 10 {
				bad++
				t.Errorf("hashint8(%d): PostgreSQL %d, HashInt8 %d, HashDatum %d", v, pg[i], h, hd)
			}
		}
	})
	t.Run("hashint4", func(t *testing.T) {
		vals := []int32{0, 1, -1, 7, math.MaxInt32, math.MinInt32, 65536, -65536}
		r := rand.New(rand.NewPCG(3, 4))
		for range 500 {
			vals = append(vals, int32(r.Uint32()))
		}
		pg := cmpHashes(t, conn, "SELECT hashint4(v) FROM unnest($1::int4[]) WITH ORDINALITY AS u(v, o) ORDER BY o", vals)
		bad := 0
		for i, v := range vals {
			h := catalog.HashInt4(v)
			hd, err := catalog.HashDatum(catalog.OIDInt4, strconv.Itoa(int(v)))
			if err != nil {
				t.Fatalf("HashDatum(int4, %d): %v", v, err)
			}
			// int8 values in the int4 range hash as int4 does.
			h8 := catalog.HashInt8(int64(v))
			if (h != pg[i] || hd != pg[i] || h8 != pg[i]) && bad < 10 {
				bad++
				t.Errorf("hashint4(%d): PostgreSQL %d, HashInt4 %d, HashDatum %d, HashInt8 %d", v, pg[i], h, hd, h8)
			}
		}
	})
	t.Run("hashtext", func(t *testing.T) {
		vals := []string{"", "a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghijk", "abcdefghijkl", "abcdefghijklm",
			"élan", "日本語のテキスト", "with 'quote'", "trailing  ", "emoji 🙂", strings.Repeat("x", 100), strings.Repeat("0123456789", 7)}
		for n := range 40 {
			vals = append(vals, strings.Repeat("k", n), fmt.Sprintf("key-%d", n*7919))
		}
		vals = append(vals, d.keys[:300]...)
		pg := cmpHashes(t, conn, "SELECT hashtext(v) FROM unnest($1::text[]) WITH ORDINALITY AS u(v, o) ORDER BY o", vals)
		bad := 0
		for i, v := range vals {
			h := catalog.HashText(v)
			hd, err := catalog.HashDatum(catalog.OIDText, v)
			if err != nil {
				t.Fatalf("HashDatum(text, %q): %v", v, err)
			}
			hv, err := catalog.HashDatum(catalog.OIDVarchar, v)
			if err != nil {
				t.Fatalf("HashDatum(varchar, %q): %v", v, err)
			}
			if (h != pg[i] || hd != pg[i] || hv != pg[i]) && bad < 10 {
				bad++
				t.Errorf("hashtext(%q): PostgreSQL %d, HashText %d, HashDatum(text) %d, HashDatum(varchar) %d", v, pg[i], h, hd, hv)
			}
		}
	})
	// Other hashable types, through hash_array: for a one-element array
	// it is 31 + the element type's own hash (the one hash partitioning
	// and distgres placement use).
	generic := []struct {
		typ  string
		oid  uint32
		vals []string
	}{
		{"int2", catalog.OIDInt2, []string{"0", "1", "-1", "32767", "-32768", "1234"}},
		{"timestamptz", catalog.OIDTimestampTZ, []string{"2000-01-01 00:00:00+00", "1999-12-31 23:59:59.999999+00", "2021-11-07 05:40:00+00",
			"2024-02-29 12:34:56.789+00", "1970-01-01 00:00:00+00", "2021-11-07 01:10:00-05", "2038-01-19 03:14:08+02:30"}},
		{"timestamp", catalog.OIDTimestamp, []string{"2000-01-01 00:00:00", "1999-12-31 23:59:59.5", "2021-11-07 01:10:00", "1900-03-01 00:00:00"}},
		{"date", catalog.OIDDate, []string{"2000-01-01", "1999-12-31", "2021-11-07", "1900-03-01", "2100-12-31"}},
		{"uuid", catalog.OIDUUID, []string{"00000000-0000-0000-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc999c0b4ef8bb6d6bb9bd380a12}"}},
		{"bool", catalog.OIDBool, []string{"true", "false"}},
		{"bytea", catalog.OIDBytea, []string{`\x`, `\x00`, `\xdeadbeef`, `\x0102030405060708090a0b0c0d`}},
		{"bpchar", catalog.OIDBPChar, []string{"a", "a  ", "", "hello world   "}},
	}
	for _, g := range generic {
		t.Run(g.typ, func(t *testing.T) {
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT v, v::%[1]s::text, hash_array(ARRAY[v::%[1]s]) FROM unnest($1::text[]) WITH ORDINALITY AS u(v, o) ORDER BY o", g.typ), g.vals)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var in, canon string
				var ha int32
				if err := rows.Scan(&in, &canon, &ha); err != nil {
					t.Fatal(err)
				}
				want := int32(uint32(ha) - 31)
				for _, text := range []string{in, canon} {
					h, err := catalog.HashDatum(g.oid, text)
					if err != nil {
						t.Errorf("HashDatum(%s, %q): %v", g.typ, text, err)
					} else if h != want {
						t.Errorf("hash of %s %q: PostgreSQL %d, HashDatum %d", g.typ, text, want, h)
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// cmpHashes runs a query returning one int4 hash per argument element.
func cmpHashes[T any](t *testing.T, conn *pgx.Conn, sql string, vals []T) []int32 {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, vals)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(vals) {
		t.Fatalf("%d hashes for %d values", len(out), len(vals))
	}
	return out
}

// ---------------------------------------------------------------------
// Queries

func cmpQueries(d *cmpData) []cmpQuery {
	idN, idP, idS := d.idNeg, d.idPos, d.idSmall
	key1, key2 := d.keys[42], d.keys[4242]
	qs := []cmpQuery{
		// Counts.
		{name: "count_star", sql: "SELECT count(*) FROM cmp_t"},
		{name: "count_columns", sql: "SELECT count(id), count(n), count(f), count(t), count(ts), count(g), count(nul) FROM cmp_t"},
		{name: "count_alias", sql: "SELECT count(*) AS total, count(nul) AS with_nul FROM cmp_t"},
		{name: "count_filter_clause", sql: "SELECT count(*) FILTER (WHERE i > 0), count(nul) FILTER (WHERE g < 10) FROM cmp_t"},

		// sum/avg/min/max of every numeric type.
		{name: "sum_int", sql: "SELECT sum(i) FROM cmp_t"},
		{name: "sum_bigint", sql: "SELECT sum(b) FROM cmp_t"},
		{name: "sum_numeric", sql: "SELECT sum(n) FROM cmp_t"},
		{name: "sum_float8_exact", sql: "SELECT sum(f) FROM cmp_t"},
		{name: "sum_float8_approx", sql: "SELECT sum(f2) FROM cmp_t", approx: true},
		{name: "sum_expression", sql: "SELECT sum(i + 1), sum(b / 1000), sum(n * 2) FROM cmp_t"},
		{name: "avg_int", sql: "SELECT avg(i) FROM cmp_t"},
		{name: "avg_bigint", sql: "SELECT avg(b) FROM cmp_t"},
		{name: "avg_numeric", sql: "SELECT avg(n) FROM cmp_t"},
		{name: "avg_float8_exact", sql: "SELECT avg(f) FROM cmp_t"},
		{name: "avg_float8_approx", sql: "SELECT avg(f2) FROM cmp_t", approx: true},
		{name: "avg_small_int", sql: "SELECT avg(g), avg(nul) FROM cmp_t"},
		{name: "avg_uneven_groups", sql: "SELECT avg(i), avg(n), avg(g) FROM cmp_t WHERE nul < 10"},
		{name: "avg_few_rows", sql: "SELECT avg(i), avg(b), avg(n), avg(f) FROM cmp_t WHERE nul = 500"},
		{name: "min_max_numeric_types", sql: "SELECT min(i), max(i), min(b), max(b), min(n), max(n), min(f), max(f), min(f2), max(f2) FROM cmp_t"},
		{name: "min_max_text_timestamptz", sql: "SELECT min(t), max(t), min(ts), max(ts) FROM cmp_t"},
		{name: "all_aggregates", sql: "SELECT count(*), sum(i), avg(i), min(t), max(ts), sum(n), avg(f), max(b) FROM cmp_t WHERE g = 3"},

		// Aggregates over nothing.
		{name: "aggregates_empty_filter", sql: "SELECT count(*), count(n), sum(i), sum(b), sum(n), sum(f), avg(i), avg(b), avg(n), avg(f), min(t), max(t), min(ts), max(ts) FROM cmp_t WHERE i > 5000000"},
		{name: "aggregates_empty_grouped", sql: "SELECT g, count(*), sum(i) FROM cmp_t WHERE i > 5000000 GROUP BY g", empty: true},

		// GROUP BY a column that is not the distribution column.
		{name: "group_by_unordered", sql: "SELECT g, count(*), sum(i), sum(b), min(t), max(ts), avg(n), avg(f), max(f2) FROM cmp_t GROUP BY g"},
		{name: "group_by_ordered", sql: "SELECT g, count(*), sum(i), avg(i), min(n), max(n) FROM cmp_t GROUP BY g ORDER BY g", ordered: true},
		{name: "group_by_desc_nulls_last_limit_offset", sql: "SELECT g, count(*) FROM cmp_t GROUP BY g ORDER BY g DESC NULLS LAST LIMIT 5 OFFSET 2", ordered: true},
		{name: "group_by_order_by_aggregate_alias", sql: "SELECT g, sum(i) AS s FROM cmp_t GROUP BY g ORDER BY s DESC", ordered: true},
		{name: "group_by_nulls_first", sql: "SELECT g, count(*), max(t) FROM cmp_t GROUP BY g ORDER BY g NULLS FIRST", ordered: true},
		{name: "group_by_limit_offset_params", sql: "SELECT g, count(*) FROM cmp_t GROUP BY g ORDER BY g DESC LIMIT $1 OFFSET $2", args: []any{int64(4), int64(3)}, ordered: true},
		{name: "group_by_position", sql: "SELECT g, count(*) FROM cmp_t GROUP BY 1 ORDER BY 1", ordered: true},
		{name: "group_by_text", sql: "SELECT t, count(*), min(id) FROM cmp_t WHERE length(t) < 2 GROUP BY t ORDER BY t", ordered: true},
		{name: "group_by_two_columns", sql: "SELECT g, nul IS NULL, count(*), avg(i) FROM cmp_t GROUP BY g, nul IS NULL"},
		{name: "group_by_with_where_param", sql: "SELECT g, count(*) FROM cmp_t WHERE i > $1 GROUP BY g ORDER BY g", args: []any{int64(250000)}, ordered: true},
		{name: "group_by_join_reference", sql: "SELECT r.label, count(*), sum(x.i) FROM cmp_t x JOIN cmp_r r ON r.g = x.g GROUP BY r.label ORDER BY r.label", ordered: true},

		// GROUP BY the distribution column (runs whole on the nodes).
		{name: "group_by_dist_ordered_limit", sql: "SELECT id, count(*), sum(i) FROM cmp_t GROUP BY id ORDER BY id LIMIT 20", ordered: true},
		{name: "group_by_dist_unordered", sql: "SELECT id, max(t), sum(n) FROM cmp_t WHERE g = 7 GROUP BY id"},
		{name: "group_by_dist_having", sql: "SELECT id, sum(i) FROM cmp_t GROUP BY id HAVING sum(i) > 998000"},

		// ORDER BY with LIMIT/OFFSET.
		{name: "order_by_id_limit", sql: "SELECT id, i, t FROM cmp_t ORDER BY id LIMIT 10", ordered: true},
		{name: "order_by_id_desc_limit_offset", sql: "SELECT id FROM cmp_t ORDER BY id DESC LIMIT 10 OFFSET 100", ordered: true},
		{name: "order_by_position", sql: "SELECT i, id FROM cmp_t ORDER BY 1, 2 LIMIT 25", ordered: true},
		{name: "order_by_alias_desc", sql: "SELECT i AS x, id FROM cmp_t ORDER BY x DESC, id LIMIT 25", ordered: true},
		{name: "order_by_nulls_first", sql: "SELECT nul, id FROM cmp_t ORDER BY nul NULLS FIRST, id LIMIT 30", ordered: true},
		{name: "order_by_desc_nulls_last", sql: "SELECT nul, id FROM cmp_t ORDER BY nul DESC NULLS LAST, id LIMIT 30", ordered: true},
		{name: "order_by_desc_default_nulls_first", sql: "SELECT nul, id FROM cmp_t ORDER BY nul DESC, id LIMIT 30", ordered: true},
		{name: "order_by_asc_nulls_last_offset", sql: "SELECT nul FROM cmp_t ORDER BY nul LIMIT 10 OFFSET 59990", ordered: true},
		{name: "order_by_text", sql: "SELECT t, id FROM cmp_t ORDER BY t, id LIMIT 50", ordered: true},
		{name: "order_by_text_desc", sql: "SELECT t, id FROM cmp_t ORDER BY t DESC, id DESC LIMIT 50", ordered: true},
		{name: "order_by_text_deep_offset", sql: "SELECT t FROM cmp_t ORDER BY t LIMIT 20 OFFSET 50000", ordered: true},
		{name: "order_by_numeric", sql: "SELECT n, id FROM cmp_t ORDER BY n DESC NULLS LAST, id LIMIT 20", ordered: true},
		{name: "order_by_float8", sql: "SELECT f2 FROM cmp_t ORDER BY f2 LIMIT 20", ordered: true},
		{name: "order_by_bigint_desc", sql: "SELECT b FROM cmp_t ORDER BY b DESC LIMIT 20", ordered: true},
		{name: "order_by_timestamptz", sql: "SELECT ts, id FROM cmp_t ORDER BY ts, id LIMIT 20", ordered: true},
		{name: "order_by_timestamptz_desc", sql: "SELECT ts FROM cmp_t ORDER BY ts DESC NULLS LAST LIMIT 20", ordered: true},
		{name: "order_by_hidden_column", sql: "SELECT id FROM cmp_t ORDER BY i, id LIMIT 15", ordered: true},
		{name: "order_by_expression", sql: "SELECT id, i FROM cmp_t ORDER BY i % 1000, id LIMIT 10", ordered: true},
		{name: "order_by_star", sql: "SELECT * FROM cmp_t ORDER BY id LIMIT 5", ordered: true},
		{name: "order_by_offset_only", sql: "SELECT id FROM cmp_t ORDER BY id OFFSET 99990", ordered: true},
		{name: "order_by_limit_offset_params", sql: "SELECT id, t FROM cmp_t ORDER BY id LIMIT $1 OFFSET $2", args: []any{int64(7), int64(3)}, ordered: true},
		{name: "order_by_limit_beyond_end", sql: "SELECT id FROM cmp_t WHERE g = 4 ORDER BY id DESC LIMIT 100000", ordered: true},
		{name: "order_by_offset_beyond_end", sql: "SELECT id FROM cmp_t ORDER BY id LIMIT 5 OFFSET 200000", ordered: true, empty: true},
		{name: "order_by_all_rows", sql: "SELECT * FROM cmp_t ORDER BY id", ordered: true},

		// Point lookups by the distribution column.
		{name: "point_constant", sql: fmt.Sprintf("SELECT * FROM cmp_t WHERE id = %d", idP)},
		{name: "point_constant_negative", sql: fmt.Sprintf("SELECT * FROM cmp_t WHERE id = %d", idN)},
		{name: "point_constant_reversed", sql: fmt.Sprintf("SELECT i, t FROM cmp_t WHERE %d = id", idS)},
		{name: "point_constant_string", sql: fmt.Sprintf("SELECT i, t FROM cmp_t WHERE id = '%d'", idN)},
		{name: "point_constant_and_filter", sql: fmt.Sprintf("SELECT id FROM cmp_t WHERE i > -2000000 AND id = %d", idP)},
		{name: "point_param", sql: "SELECT * FROM cmp_t WHERE id = $1", args: []any{idN}},
		{name: "point_param_small", sql: "SELECT id, b, n FROM cmp_t WHERE id = $1", args: []any{idS}},
		{name: "point_param_int4", sql: "SELECT id, b, n FROM cmp_t WHERE id = $1::int4", args: []any{int32(idS)}},
		{name: "point_param_qualified", sql: "SELECT x.t, x.ts FROM cmp_t x WHERE x.id = $1", args: []any{idP}},
		{name: "point_param_aggregate", sql: "SELECT count(*), sum(i), avg(n) FROM cmp_t WHERE id = $1", args: []any{idP}},
		{name: "point_missing", sql: "SELECT * FROM cmp_t WHERE id = 0", empty: true},
		{name: "point_missing_param", sql: "SELECT * FROM cmp_t WHERE id = $1", args: []any{int64(-1)}, empty: true},
		{name: "point_null", sql: "SELECT * FROM cmp_t WHERE id = NULL", empty: true},
		{name: "point_null_param", sql: "SELECT * FROM cmp_t WHERE id = $1", args: []any{nil}, empty: true},
		{name: "point_text_constant", sql: "SELECT * FROM cmp_s WHERE k = " + cmpLiteral(key1)},
		{name: "point_text_param", sql: "SELECT v, k FROM cmp_s WHERE k = $1", args: []any{key2}},
		{name: "point_text_missing", sql: "SELECT v FROM cmp_s WHERE k = $1", args: []any{"no such key"}, empty: true},
		{name: "point_join_reference", sql: "SELECT x.id, r.label FROM cmp_t x JOIN cmp_r r ON r.g = x.g WHERE x.id = $1", args: []any{idS}},

		// Literals keep PostgreSQL's types (-2147483648 is an int4 constant).
		{name: "negative_boundary_literals", sql: fmt.Sprintf("SELECT -2147483648 AS a, -9223372036854775808 AS b, pg_typeof(-2147483648)::text AS ta, i FROM cmp_t WHERE id = %d", idP)},

		// Filters, several shards.
		{name: "where_in_list", sql: fmt.Sprintf("SELECT id, i FROM cmp_t WHERE id IN (%d, %d, %d) ORDER BY id", idN, idP, idS), ordered: true},
		{name: "where_or", sql: fmt.Sprintf("SELECT id FROM cmp_t WHERE id = %d OR id = %d", idN, idS)},
		{name: "where_range", sql: "SELECT count(*), sum(b), min(id), max(id) FROM cmp_t WHERE i BETWEEN -1000 AND 1000"},
		{name: "where_like", sql: "SELECT id, t FROM cmp_t WHERE t LIKE 'ab%'"},
		{name: "where_is_null", sql: "SELECT count(*) FROM cmp_t WHERE nul IS NULL"},
		{name: "where_is_not_null_and", sql: "SELECT count(*), sum(nul) FROM cmp_t WHERE nul IS NOT NULL AND g = 2"},
		{name: "where_timestamptz", sql: "SELECT id, ts FROM cmp_t WHERE ts >= '2010-01-01 00:00:00+00' AND ts < '2010-03-01 00:00:00+00'"},
		{name: "where_param_scatter", sql: "SELECT count(*), avg(i) FROM cmp_t WHERE g = $1", args: []any{int32(11)}},
		{name: "where_numeric", sql: "SELECT id, n FROM cmp_t WHERE n > 999990000"},
		{name: "where_float8", sql: "SELECT id, f FROM cmp_t WHERE f BETWEEN -100 AND 100"},
		{name: "where_empty", sql: "SELECT * FROM cmp_t WHERE i > 5000000", empty: true},
		{name: "where_empty_ordered", sql: "SELECT id FROM cmp_t WHERE i > 5000000 ORDER BY id LIMIT 10", ordered: true, empty: true},
		{name: "where_join_reference", sql: "SELECT x.id, r.label FROM cmp_t x JOIN cmp_r r ON r.g = x.g WHERE x.nul = 1"},
		{name: "distinct_on_distribution_column", sql: "SELECT DISTINCT id, g FROM cmp_t WHERE nul = 3"},
		{name: "full_table", sql: "SELECT * FROM cmp_t"},

		// The text-distributed and the reference table.
		{name: "text_table_aggregates", sql: "SELECT count(*), min(k), max(k), sum(v), avg(v) FROM cmp_s"},
		{name: "text_table_order_by_key", sql: "SELECT k, v FROM cmp_s ORDER BY k LIMIT 10 OFFSET 5", ordered: true},
		{name: "text_table_order_by_key_desc", sql: "SELECT k FROM cmp_s ORDER BY k DESC LIMIT 10", ordered: true},
		{name: "reference_table", sql: "SELECT * FROM cmp_r ORDER BY g", ordered: true},
		{name: "reference_table_aggregate", sql: "SELECT label, count(*) FROM cmp_r GROUP BY label"},

		// Errors must be PostgreSQL's.
		{name: "error_bad_key_literal", sql: "SELECT * FROM cmp_t WHERE id = 'abc'", wantErr: "22P02"},
		{name: "error_division_by_zero", sql: "SELECT count(*) FROM cmp_t WHERE i / (g - g) > 1", wantErr: "22012"},
		{name: "error_negative_limit_param", sql: "SELECT id FROM cmp_t ORDER BY id LIMIT $1", args: []any{int64(-1)}, wantErr: "2201W"},
		{name: "error_int4_overflow_literal", sql: fmt.Sprintf("SELECT i, -2147483648 - 1 AS x FROM cmp_t WHERE id = %d", idP), wantErr: "22003"},
		{name: "error_unknown_column", sql: "SELECT nosuch FROM cmp_t", wantErr: "42703"},
	}
	return qs
}

// cmpTimeZoneQueries order and aggregate timestamptz values in a session
// time zone with a daylight saving change inside the data.
func cmpTimeZoneQueries(d *cmpData) []cmpQuery {
	from := cmpFallBack.Add(-time.Hour).Format(time.RFC3339)
	to := cmpFallBack.Add(3 * time.Hour).Format(time.RFC3339)
	window := fmt.Sprintf("ts >= '%s' AND ts < '%s'", from, to)
	return []cmpQuery{
		{name: "show_timezone", sql: "SELECT current_setting('TimeZone')"},
		{name: "point_param", sql: "SELECT id, ts FROM cmp_t WHERE id = $1", args: []any{d.idPos}},
		{name: "order_by_timestamptz_fall_back", sql: "SELECT ts, id FROM cmp_t WHERE " + window + " ORDER BY ts, id", ordered: true},
		{name: "order_by_timestamptz_fall_back_desc", sql: "SELECT ts, id FROM cmp_t WHERE " + window + " ORDER BY ts DESC, id LIMIT 10", ordered: true},
		{name: "min_max_timestamptz_fall_back", sql: "SELECT min(ts), max(ts), count(ts) FROM cmp_t WHERE " + window},
		{name: "group_by_min_max_timestamptz", sql: "SELECT g, min(ts), max(ts) FROM cmp_t WHERE " + window + " GROUP BY g"},
		{name: "min_max_timestamptz_all", sql: "SELECT min(ts), max(ts) FROM cmp_t"},
	}
}
