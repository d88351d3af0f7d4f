package test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, harness.URL(url))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPgxExtendedProtocolRouting(t *testing.T) {
	c := harness.Start(t, harness.Options{})
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	if _, err := conn.Exec(ctx, "CREATE TABLE kv (k bigint PRIMARY KEY, v text, n numeric, ts timestamptz)"); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 50; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO kv (k, v, n, ts) VALUES ($1, $2, $3, $4)", i, "v"+string(rune('a'+i%26)), i*3, time.Unix(1700000000+i, 0)); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	// Binary results (pgx asks for binary for known types) through a $n route.
	var v string
	var n float64
	var ts time.Time
	if err := conn.QueryRow(ctx, "SELECT v, n, ts FROM kv WHERE k = $1", int64(7)).Scan(&v, &n, &ts); err != nil {
		t.Fatal(err)
	}
	if v != "vh" || n != 21 || !ts.Equal(time.Unix(1700000007, 0)) {
		t.Errorf("row 7 = %q %v %v", v, n, ts)
	}
	var count int64
	var sum int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(k) FROM kv").Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	if count != 50 || sum != 1275 {
		t.Errorf("count, sum = %d, %d; want 50, 1275", count, sum)
	}
	rows, err := conn.Query(ctx, "SELECT k FROM kv WHERE k > $1 ORDER BY k DESC LIMIT $2", int64(10), int64(3))
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 50 || got[1] != 49 || got[2] != 48 {
		t.Errorf("ordered limit = %v", got)
	}
	_, err = conn.Exec(ctx, "SELECT * FROM no_such_table")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42P01" {
		t.Errorf("unknown table: %v", err)
	}
}
