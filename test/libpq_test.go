package test

// End-to-end tests with database/sql and lib/pq, the classic Go driver:
// it speaks the extended protocol with unnamed statements for queries
// with arguments, named statements for db.Prepare and the simple protocol
// for queries without arguments.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/lib/pq"
)

// libpqOpen opens a database/sql handle on url through lib/pq and checks
// that it connects.
func libpqOpen(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", harness.URL(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("lib/pq cannot connect to the coordinator: %v", err)
	}
	return db
}

// libpqCtx is the upper bound of one step of a test, so that a hang fails
// instead of blocking the test binary.
func libpqCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// libpqCode returns the SQLSTATE of a lib/pq error, "" if err is not one.
func libpqCode(err error) string {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return string(pe.Code)
	}
	return ""
}

// libpqExpectCode fails unless err is a *pq.Error with SQLSTATE code.
func libpqExpectCode(t *testing.T, what string, err error, code string) *pq.Error {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want SQLSTATE %s", what, code)
		return nil
	}
	var pe *pq.Error
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %v (%T) is not a *pq.Error, want SQLSTATE %s", what, err, err, code)
		return nil
	}
	if string(pe.Code) != code {
		t.Errorf("%s: SQLSTATE %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
	return pe
}

// libpqShardPlacement reads the shard tables of a logical table directly on
// every data node and returns, for each value of column col, where it is
// stored ("nodeI/shardtable"), one entry per copy.
func libpqShardPlacement(t *testing.T, c *cluster.Cluster, table, col string) map[string][]string {
	t.Helper()
	ctx := libpqCtx(t)
	out := map[string][]string{}
	shardName := regexp.MustCompile(`^` + regexp.QuoteMeta(table) + `_[0-9]+$`)
	for i := range c.Nodes {
		db, err := sql.Open("postgres", harness.URL(c.ShardURL(i)))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
		if err != nil {
			db.Close()
			t.Fatalf("node %d: listing shard tables: %v", i, err)
		}
		var shards []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			if shardName.MatchString(name) {
				shards = append(shards, name)
			}
		}
		rows.Close()
		for _, sh := range shards {
			rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s::text FROM %s", col, sh))
			if err != nil {
				db.Close()
				t.Fatalf("node %d: reading shard %s: %v", i, sh, err)
			}
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				out[v] = append(out[v], fmt.Sprintf("node%d/%s", i, sh))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		db.Close()
	}
	return out
}

func TestLibpq(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	db := libpqOpen(t, c.ClientURL)

	t.Run("DDL", func(t *testing.T) {
		ctx := libpqCtx(t)
		for _, q := range []string{
			"CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), note text)",
			"CREATE INDEX accounts_owner_idx ON accounts (owner)",
			"ALTER TABLE accounts ADD COLUMN opened date",
			"CREATE TABLE currencies (code text PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION",
			"CREATE TABLE scratch (id int PRIMARY KEY)",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// The logical tables are described by the shell database.
		rows, err := db.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = 'accounts' ORDER BY ordinal_position`)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, name+" "+typ)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		want := "id bigint, owner text, balance numeric, note text, opened date"
		if got := strings.Join(cols, ", "); got != want {
			t.Errorf("accounts columns = %q, want %q", got, want)
		}
		// Every shard carries the new column and the index.
		for i := range c.Nodes {
			sdb, err := sql.Open("postgres", harness.URL(c.ShardURL(i)))
			if err != nil {
				t.Fatal(err)
			}
			var shards, withCol, withIdx int
			err = sdb.QueryRowContext(ctx, `SELECT count(*),
				count(*) FILTER (WHERE EXISTS (SELECT 1 FROM information_schema.columns c
					WHERE c.table_schema = 'public' AND c.table_name = t.tablename AND c.column_name = 'opened')),
				count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_indexes x
					WHERE x.schemaname = 'public' AND x.tablename = t.tablename AND x.indexdef LIKE '%(owner)%'))
				FROM pg_tables t WHERE schemaname = 'public' AND tablename ~ '^accounts_[0-9]+$'`).Scan(&shards, &withCol, &withIdx)
			sdb.Close()
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			if shards == 0 || withCol != shards || withIdx != shards {
				t.Errorf("node %d: %d accounts shards, %d with column opened, %d with the owner index", i, shards, withCol, withIdx)
			}
		}
		if _, err := db.ExecContext(ctx, "DROP TABLE scratch"); err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, "SELECT * FROM scratch")
		libpqExpectCode(t, "select from dropped table", err, "42P01")
		if left := libpqShardPlacement(t, c, "scratch", "id"); len(left) != 0 {
			t.Errorf("rows of dropped table still readable: %v", left)
		}
		for i := range c.Nodes {
			sdb, err := sql.Open("postgres", harness.URL(c.ShardURL(i)))
			if err != nil {
				t.Fatal(err)
			}
			var n int
			err = sdb.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename ~ '^scratch_[0-9]+$'`).Scan(&n)
			sdb.Close()
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("node %d: %d shards of dropped table scratch remain", i, n)
			}
		}
	})

	t.Run("PreparedRouting", func(t *testing.T) {
		ctx := libpqCtx(t)
		ins, err := db.PrepareContext(ctx, "INSERT INTO accounts (id, owner, balance, opened) VALUES ($1, $2, $3, $4)")
		if err != nil {
			t.Fatal(err)
		}
		defer ins.Close()
		day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
		for i := int64(1); i <= 60; i++ {
			res, err := ins.ExecContext(ctx, i, fmt.Sprintf("owner%02d", i), fmt.Sprintf("%d.%02d", i*10, i%100), day.AddDate(0, 0, int(i)))
			if err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				t.Fatalf("insert %d: rows affected %d, %v", i, n, err)
			}
		}
		// Every row is stored exactly once, and rows are spread over every
		// data node.
		placement := libpqShardPlacement(t, c, "accounts", "id")
		nodes := map[string]bool{}
		for i := 1; i <= 60; i++ {
			where := placement[fmt.Sprint(i)]
			if len(where) != 1 {
				t.Errorf("row %d stored at %v, want exactly one shard", i, where)
				continue
			}
			nodes[strings.SplitN(where[0], "/", 2)[0]] = true
		}
		if len(placement) != 60 {
			t.Errorf("%d distinct ids in the shards, want 60", len(placement))
		}
		if len(nodes) != len(c.Nodes) {
			t.Errorf("rows are on nodes %v, want all %d nodes", nodes, len(c.Nodes))
		}

		// A router query by $1 finds each row on its shard.
		sel, err := db.PrepareContext(ctx, "SELECT owner, balance::text, opened FROM accounts WHERE id = $1")
		if err != nil {
			t.Fatal(err)
		}
		defer sel.Close()
		for _, i := range []int64{1, 7, 19, 33, 42, 60} {
			var owner, balance string
			var opened time.Time
			if err := sel.QueryRowContext(ctx, i).Scan(&owner, &balance, &opened); err != nil {
				t.Fatalf("select id %d: %v", i, err)
			}
			wantBal := fmt.Sprintf("%d.%02d", i*10, i%100)
			if owner != fmt.Sprintf("owner%02d", i) || balance != wantBal || !opened.Equal(day.AddDate(0, 0, int(i))) {
				t.Errorf("id %d = %q %q %v; want owner%02d %s %v", i, owner, balance, opened, i, wantBal, day.AddDate(0, 0, int(i)))
			}
		}
		err = sel.QueryRowContext(ctx, int64(1000)).Scan(new(string), new(string), new(time.Time))
		if !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("select missing id: %v, want sql.ErrNoRows", err)
		}
		// Unnamed statements with arguments (db.Query with args).
		var owner string
		if err := db.QueryRowContext(ctx, "SELECT owner FROM accounts WHERE id = $1", 25).Scan(&owner); err != nil || owner != "owner25" {
			t.Errorf("unnamed routed select: %q, %v", owner, err)
		}
		// Scatter queries with parameters and merge.
		var count int
		var sum string
		if err := db.QueryRowContext(ctx, "SELECT count(*), sum(balance) FROM accounts WHERE id > $1", 50).Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		// ids 51..60: balances 510+0.51 .. 600+0.60
		if count != 10 || sum != "5555.55" {
			t.Errorf("count, sum = %d, %s; want 10, 5555.55", count, sum)
		}
		rows, err := db.QueryContext(ctx, "SELECT id FROM accounts WHERE owner LIKE $1 ORDER BY id DESC LIMIT $2 OFFSET 1", "owner1%", 3)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if fmt.Sprint(ids) != "[18 17 16]" {
			t.Errorf("ORDER BY id DESC LIMIT 3 OFFSET 1 = %v, want [18 17 16]", ids)
		}
		// UPDATE and DELETE routed by $n.
		upd, err := db.PrepareContext(ctx, "UPDATE accounts SET balance = balance + $2 WHERE id = $1")
		if err != nil {
			t.Fatal(err)
		}
		defer upd.Close()
		res, err := upd.ExecContext(ctx, 5, "0.50")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("update id 5: %d rows", n)
		}
		var bal string
		if err := db.QueryRowContext(ctx, "SELECT balance::text FROM accounts WHERE id = 5").Scan(&bal); err != nil || bal != "50.55" {
			t.Errorf("balance of 5 after update = %q, %v; want 50.55", bal, err)
		}
		res, err = db.ExecContext(ctx, "DELETE FROM accounts WHERE id = $1", 60)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("delete id 60: %d rows", n)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&count); err != nil || count != 59 {
			t.Errorf("count after delete = %d, %v; want 59", count, err)
		}
		// The same named statement many times (lib/pq keeps it prepared).
		for i := 0; i < 20; i++ {
			if err := sel.QueryRowContext(ctx, int64(i%10+1)).Scan(&owner, &bal, new(time.Time)); err != nil {
				t.Fatalf("re-execution %d: %v", i, err)
			}
		}
	})

	t.Run("Commit", func(t *testing.T) {
		ctx := libpqCtx(t)
		other := libpqOpen(t, c.ClientURL)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(101); i <= 110; i++ {
			if _, err := tx.ExecContext(ctx, "INSERT INTO accounts (id, owner, balance) VALUES ($1, $2, 1)", i, fmt.Sprint("tx", i)); err != nil {
				tx.Rollback()
				t.Fatalf("insert %d in transaction: %v", i, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = 0 WHERE id = $1", 1); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		var inTx, outside int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id > 100").Scan(&inTx); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := other.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id > 100").Scan(&outside); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if inTx != 10 || outside != 0 {
			t.Errorf("before commit: %d rows seen in the transaction (want 10), %d outside (want 0)", inTx, outside)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if err := other.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id > 100").Scan(&outside); err != nil || outside != 10 {
			t.Errorf("after commit: %d rows, %v; want 10", outside, err)
		}
		var bal string
		if err := other.QueryRowContext(ctx, "SELECT balance::text FROM accounts WHERE id = $1", 1).Scan(&bal); err != nil || bal != "0.00" {
			t.Errorf("balance of 1 after commit = %q, %v; want 0.00", bal, err)
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		ctx := libpqCtx(t)
		var before int
		var sumBefore string
		if err := db.QueryRowContext(ctx, "SELECT count(*), sum(balance) FROM accounts").Scan(&before, &sumBefore); err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES (201, 'gone1'), (202, 'gone2'), (203, 'gone3'), (204, 'gone4'), (205, 'gone5')"); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE id IN (2, 3, 4)"); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance * 100"); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		var inTx int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&inTx); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if inTx != before+5-3 {
			t.Errorf("in transaction: %d rows, want %d", inTx, before+2)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		var after int
		var sumAfter string
		if err := db.QueryRowContext(ctx, "SELECT count(*), sum(balance) FROM accounts").Scan(&after, &sumAfter); err != nil {
			t.Fatal(err)
		}
		if after != before || sumAfter != sumBefore {
			t.Errorf("after rollback: %d rows, sum %s; want %d, %s", after, sumAfter, before, sumBefore)
		}
		var gone int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id BETWEEN 201 AND 205").Scan(&gone); err != nil || gone != 0 {
			t.Errorf("rolled-back rows: %d, %v; want 0", gone, err)
		}
		if left := libpqShardPlacement(t, c, "accounts", "id"); len(left["201"])+len(left["203"])+len(left["205"]) != 0 || len(left["2"]) != 1 {
			t.Errorf("shards after rollback: 201 at %v, 203 at %v, 205 at %v, 2 at %v", left["201"], left["203"], left["205"], left["2"])
		}
		// A failed statement fails the block (25P02) until ROLLBACK.
		tx, err = db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES (301, 'x')"); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES (1, 'duplicate')")
		libpqExpectCode(t, "duplicate key in transaction", err, "23505")
		_, err = tx.ExecContext(ctx, "SELECT 1")
		libpqExpectCode(t, "statement after error in transaction", err, "25P02")
		if err := tx.Rollback(); err != nil {
			t.Fatalf("rollback of failed block: %v", err)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id = 301").Scan(&gone); err != nil || gone != 0 {
			t.Errorf("row of failed block: %d, %v; want 0", gone, err)
		}
	})

	t.Run("NULL", func(t *testing.T) {
		ctx := libpqCtx(t)
		if _, err := db.ExecContext(ctx, "CREATE TABLE notes (id int PRIMARY KEY, body text, score int, at timestamptz)"); err != nil {
			t.Fatal(err)
		}
		ins, err := db.PrepareContext(ctx, "INSERT INTO notes VALUES ($1, $2, $3, $4)")
		if err != nil {
			t.Fatal(err)
		}
		defer ins.Close()
		at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		for i := 1; i <= 12; i++ {
			var body, score, ts any
			if i%3 != 0 {
				body = fmt.Sprintf("b%02d", i)
			}
			if i%4 != 0 {
				score = i
			}
			if i%2 == 0 {
				ts = at.Add(time.Duration(i) * time.Hour)
			}
			if _, err := ins.ExecContext(ctx, i, body, score, ts); err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO notes VALUES (13, NULL, NULL, NULL), (14, 'b14', NULL, NULL)"); err != nil {
			t.Fatal(err)
		}
		var body sql.NullString
		var score sql.NullInt64
		var ts sql.NullTime
		if err := db.QueryRowContext(ctx, "SELECT body, score, at FROM notes WHERE id = $1", 12).Scan(&body, &score, &ts); err != nil {
			t.Fatal(err)
		}
		if body.Valid || score.Valid || !ts.Valid || !ts.Time.Equal(at.Add(12*time.Hour)) {
			t.Errorf("row 12 = %v %v %v; want NULL NULL %v", body, score, ts, at.Add(12*time.Hour))
		}
		if err := db.QueryRowContext(ctx, "SELECT body, score, at FROM notes WHERE id = 13").Scan(&body, &score, &ts); err != nil {
			t.Fatal(err)
		}
		if body.Valid || score.Valid || ts.Valid {
			t.Errorf("row 13 = %v %v %v; want all NULL", body, score, ts)
		}
		// NULL-aware aggregates merged from every shard.
		var count, countBody, countScore int
		var sum, min, max sql.NullInt64
		if err := db.QueryRowContext(ctx, "SELECT count(*), count(body), count(score), sum(score), min(score), max(score) FROM notes").
			Scan(&count, &countBody, &countScore, &sum, &min, &max); err != nil {
			t.Fatal(err)
		}
		// score set for i in 1..12 with i%4 != 0: 1,2,3,5,6,7,9,10,11 = 54
		if count != 14 || countBody != 9 || countScore != 9 || sum.Int64 != 54 || min.Int64 != 1 || max.Int64 != 11 {
			t.Errorf("aggregates = %d %d %d %v %v %v; want 14 9 9 54 1 11", count, countBody, countScore, sum, min, max)
		}
		// Aggregates over no non-NULL value are NULL, count is 0.
		var avg sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT count(score), sum(score), avg(score) FROM notes WHERE score IS NULL").Scan(&count, &sum, &avg); err != nil {
			t.Fatal(err)
		}
		if count != 0 || sum.Valid || avg.Valid {
			t.Errorf("aggregates of NULLs = %d %v %v; want 0 NULL NULL", count, sum, avg)
		}
		var nulls int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM notes WHERE body IS NULL").Scan(&nulls); err != nil || nulls != 5 {
			t.Errorf("count body IS NULL = %d, %v; want 5", nulls, err)
		}
		// A NULL parameter.
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM notes WHERE score IS NOT DISTINCT FROM $1", nil).Scan(&nulls); err != nil || nulls != 5 {
			t.Errorf("count score IS NOT DISTINCT FROM NULL = %d, %v; want 5", nulls, err)
		}
		var isNull bool
		if err := db.QueryRowContext(ctx, "SELECT $1::text IS NULL", nil).Scan(&isNull); err != nil || !isNull {
			t.Errorf("SELECT NULL::text IS NULL = %v, %v", isNull, err)
		}
		// NULLs sort last ascending and first descending in a merged ORDER BY.
		order := func(q string) string {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var id int
				var s sql.NullInt64
				if err := rows.Scan(&id, &s); err != nil {
					t.Fatal(err)
				}
				if s.Valid {
					out = append(out, fmt.Sprint(s.Int64))
				} else {
					out = append(out, fmt.Sprintf("NULL(%d)", id))
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, " ")
		}
		if got, want := order("SELECT id, score FROM notes ORDER BY score, id"), "1 2 3 5 6 7 9 10 11 NULL(4) NULL(8) NULL(12) NULL(13) NULL(14)"; got != want {
			t.Errorf("ORDER BY score:\n got %s\nwant %s", got, want)
		}
		if got, want := order("SELECT id, score FROM notes ORDER BY score DESC, id"), "NULL(4) NULL(8) NULL(12) NULL(13) NULL(14) 11 10 9 7 6 5 3 2 1"; got != want {
			t.Errorf("ORDER BY score DESC:\n got %s\nwant %s", got, want)
		}
		if got, want := order("SELECT id, score FROM notes ORDER BY score NULLS FIRST, id LIMIT 7"), "NULL(4) NULL(8) NULL(12) NULL(13) NULL(14) 1 2"; got != want {
			t.Errorf("ORDER BY score NULLS FIRST LIMIT 7:\n got %s\nwant %s", got, want)
		}
		// GROUP BY a nullable column: NULL is one group.
		rows, err := db.QueryContext(ctx, "SELECT score IS NULL, count(*) FROM notes GROUP BY score IS NULL ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		var groups []string
		for rows.Next() {
			var k bool
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			groups = append(groups, fmt.Sprint(k, "=", n))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if fmt.Sprint(groups) != "[false=9 true=5]" {
			t.Errorf("GROUP BY score IS NULL = %v, want [false=9 true=5]", groups)
		}
		// Setting a column to NULL through an UPDATE with a NULL parameter.
		if _, err := db.ExecContext(ctx, "UPDATE notes SET body = $2 WHERE id = $1", 1, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&body); err != nil || body.Valid {
			t.Errorf("body of 1 after UPDATE to NULL = %v, %v", body, err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		ctx := libpqCtx(t)
		// A unique violation detected by one shard's primary key index.
		_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES (7, 'again')")
		libpqExpectCode(t, "duplicate primary key", err, "23505")
		_, err = db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", 8, "again")
		libpqExpectCode(t, "duplicate primary key with parameters", err, "23505")
		// A unique index on a reference table (its copies on every node).
		if _, err := db.ExecContext(ctx, "INSERT INTO currencies VALUES ('EUR', 'euro'), ('USD', 'dollar')"); err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, "INSERT INTO currencies VALUES ('EUR', 'again')")
		libpqExpectCode(t, "duplicate key in reference table", err, "23505")
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM currencies").Scan(&n); err != nil || n != 2 {
			t.Errorf("currencies count = %d, %v; want 2", n, err)
		}

		_, err = db.ExecContext(ctx, "SELECT * FROM no_such_table")
		libpqExpectCode(t, "unknown table (simple protocol)", err, "42P01")
		_, err = db.QueryContext(ctx, "SELECT * FROM no_such_table WHERE id = $1", 1)
		libpqExpectCode(t, "unknown table (extended protocol)", err, "42P01")
		_, err = db.PrepareContext(ctx, "INSERT INTO no_such_table VALUES ($1)")
		libpqExpectCode(t, "prepare on unknown table", err, "42P01")
		_, err = db.ExecContext(ctx, "SELECT no_such_column FROM accounts")
		libpqExpectCode(t, "unknown column", err, "42703")
		_, err = db.ExecContext(ctx, "SELEC 1")
		libpqExpectCode(t, "syntax error", err, "42601")

		// An UPDATE of the distribution column moves rows; moving them all
		// onto one key fails on the primary key as in PostgreSQL, and
		// changes nothing.
		_, err = db.ExecContext(ctx, "UPDATE accounts SET id = 1")
		libpqExpectCode(t, "update of the distribution column onto one key", err, "23505")
		for _, move := range [][2]int{{9, 9000}, {9000, 9}} {
			res, err := db.ExecContext(ctx, "UPDATE accounts SET id = $1 WHERE id = $2", move[1], move[0])
			if n, _ := res.RowsAffected(); err != nil || n != 1 {
				t.Errorf("moving account %d to %d: %d rows, %v", move[0], move[1], n, err)
			}
		}
		var owner9 string
		if err := db.QueryRowContext(ctx, "SELECT owner FROM accounts WHERE id = $1", 9).Scan(&owner9); err != nil || owner9 != "owner09" {
			t.Errorf("account 9 after moving it away and back: %q, %v", owner9, err)
		}
		// Unsupported statements are 0A000.
		_, err = db.ExecContext(ctx, "SELECT * FROM accounts FOR UPDATE")
		libpqExpectCode(t, "SELECT ... FOR UPDATE over many shards", err, "0A000")
		// COPY FROM STDIN through lib/pq's CopyIn: a duplicate key fails
		// the COPY, and the block with it.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, pq.CopyIn("accounts", "id", "owner"))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int{7001, 7002, 7} {
			if _, err = stmt.ExecContext(ctx, id, fmt.Sprintf("copied%d", id)); err != nil {
				break
			}
		}
		if err == nil {
			_, err = stmt.ExecContext(ctx)
		}
		libpqExpectCode(t, "COPY FROM STDIN with a duplicate key", err, "23505")
		stmt.Close()
		tx.Rollback()

		// None of the failed statements changed anything, and the pool's
		// connections still work.
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id = 9 OR id = 1000").Scan(&n); err != nil || n != 1 {
			t.Errorf("rows 9 and 1000 = %d, %v; want 1", n, err)
		}
		var owner string
		if err := db.QueryRowContext(ctx, "SELECT owner FROM accounts WHERE id = $1", 7).Scan(&owner); err != nil || owner != "owner07" {
			t.Errorf("row 7 after errors = %q, %v", owner, err)
		}
	})

	// PostgreSQL names the logical constraint in a unique violation;
	// applications match on it (pq.Error.Constraint). Shard names are an
	// implementation detail.
	t.Run("UniqueViolationNamesLogicalConstraint", func(t *testing.T) {
		ctx := libpqCtx(t)
		_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES (7, 'again')")
		pe := libpqExpectCode(t, "duplicate primary key", err, "23505")
		if pe == nil {
			return
		}
		shard := regexp.MustCompile(`accounts_[0-9]+`)
		if pe.Constraint != "accounts_pkey" || shard.MatchString(pe.Message) || shard.MatchString(pe.Table) {
			t.Errorf("unique violation: message %q, constraint %q, table %q; want constraint accounts_pkey and no shard name", pe.Message, pe.Constraint, pe.Table)
		}
		if want := `duplicate key value violates unique constraint "accounts_pkey"`; pe.Message != want {
			t.Errorf("message = %q, want %q", pe.Message, want)
		}
	})

	// A statement outside a transaction block is atomic in PostgreSQL:
	// when one shard fails, no other shard may keep its part.
	t.Run("MultiShardStatementIsAtomic", func(t *testing.T) {
		ctx := libpqCtx(t)
		if _, err := db.ExecContext(ctx, "CREATE TABLE atomic (id int PRIMARY KEY, v int)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO atomic VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8)"); err != nil {
			t.Fatal(err)
		}
		// The duplicate 11 fails on one shard; 12..16 go to other shards.
		_, err := db.ExecContext(ctx, "INSERT INTO atomic VALUES (11, 0), (12, 0), (13, 0), (14, 0), (15, 0), (16, 0), (11, 1)")
		libpqExpectCode(t, "duplicate key within one multi-row INSERT", err, "23505")
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM atomic WHERE id > 10").Scan(&n); err != nil || n != 0 {
			t.Errorf("rows of the failed INSERT that were kept: %d, %v; want 0", n, err)
		}
		// Division by zero on the shard of id 5 only.
		_, err = db.ExecContext(ctx, "UPDATE atomic SET v = v + 100 / (id - 5)")
		libpqExpectCode(t, "division by zero on one shard", err, "22012")
		var sum int
		if err := db.QueryRowContext(ctx, "SELECT sum(v) FROM atomic").Scan(&sum); err != nil || sum != 36 {
			t.Errorf("sum(v) after the failed UPDATE = %d, %v; want 36 (unchanged)", sum, err)
		}
		_, err = db.ExecContext(ctx, "DELETE FROM atomic WHERE 10 / (id - 3) > 0")
		libpqExpectCode(t, "division by zero in DELETE on one shard", err, "22012")
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM atomic").Scan(&n); err != nil || n != 8 {
			t.Errorf("rows after the failed DELETE = %d, %v; want 8", n, err)
		}
	})

	t.Run("ConcurrentConnections", func(t *testing.T) {
		ctx := libpqCtx(t)
		db.SetMaxOpenConns(8)
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			go func(w int) {
				for i := 0; i < 25; i++ {
					id := int64(1000 + w*100 + i)
					if _, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", id, fmt.Sprint("w", w)); err != nil {
						errs <- fmt.Errorf("worker %d insert %d: %w", w, id, err)
						return
					}
					var owner string
					if err := db.QueryRowContext(ctx, "SELECT owner FROM accounts WHERE id = $1", id).Scan(&owner); err != nil || owner != fmt.Sprint("w", w) {
						errs <- fmt.Errorf("worker %d select %d: %q, %v", w, id, owner, err)
						return
					}
				}
				errs <- nil
			}(w)
		}
		var failures []string
		for w := 0; w < 8; w++ {
			if err := <-errs; err != nil {
				failures = append(failures, err.Error())
			}
		}
		sort.Strings(failures)
		for _, f := range failures {
			t.Error(f)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE id >= 1000").Scan(&n); err != nil || n != 200 {
			t.Errorf("rows from concurrent workers = %d, %v; want 200", n, err)
		}
	})
}
