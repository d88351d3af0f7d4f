package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestPullSizeLimit: a statement pulled to one node stops with 54000 when
// its tables exceed distgres.max_intermediate_result_size, leaves no
// temporary table behind, and runs once the limit allows it.
func TestPullSizeLimit(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	ctx := context.Background()
	conn := connect(t, c.ClientURL)
	if _, err := conn.Exec(ctx, "CREATE TABLE pa (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := 1; i <= 500; i++ {
		rows = append(rows, fmt.Sprintf("(%d, '%s')", i, strings.Repeat("x", 40)))
	}
	if _, err := conn.Exec(ctx, "INSERT INTO pa VALUES "+strings.Join(rows, ", ")); err != nil {
		t.Fatal(err)
	}
	const join = "SELECT count(*) FROM pa a JOIN pa b ON a.id = b.id + 1"
	if _, err := conn.Exec(ctx, "SET distgres.max_intermediate_result_size = '8kB'"); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(ctx, join)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("join over the limit: err = %v, want SQLSTATE 54000", err)
	}
	// A write that reads another table's rows whole is bounded alike,
	// and writes nothing.
	_, err = conn.Exec(ctx, "UPDATE pa SET v = 'y' FROM (SELECT id FROM pa WHERE v <> 'z') AS other WHERE pa.id = other.id + 1")
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("UPDATE ... FROM over the limit: err = %v, want SQLSTATE 54000", err)
	}
	if _, err := conn.Exec(ctx, "SET distgres.max_intermediate_result_size = 'lots'"); err == nil {
		t.Error("an invalid size was accepted")
	}
	if _, err := conn.Exec(ctx, "RESET distgres.max_intermediate_result_size"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := conn.QueryRow(ctx, join).Scan(&n); err != nil || n != 499 {
		t.Fatalf("join after RESET = %d, %v; want 499", n, err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pa WHERE v = 'y'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows the refused UPDATE changed: %d, %v", n, err)
	}
	// No temporary table stays on the node's shell database.
	var temps int64
	shell := connect(t, c.NodeURL(0))
	if err := shell.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname LIKE 'distgres_pull_%'").Scan(&temps); err != nil || temps != 0 {
		t.Errorf("temporary pull tables left: %d, %v", temps, err)
	}
}

// TestPullNarrowed: a pulled join copies only the rows and columns it
// needs. The big table's rows (40 bytes of text each, 24 kB in all) do not
// fit the 4 kB limit, but its rows that pass the WHERE, without the text
// column, do: the join runs, with constants, with parameters (extended
// protocol) and twice in one transaction block, and no notice reaches the
// client.
func TestPullNarrowed(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(harness.URL(c.ClientURL))
	if err != nil {
		t.Fatal(err)
	}
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows []string
	for i := 1; i <= 500; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, '%s')", i, i%10, strings.Repeat("x", 40)))
	}
	for _, s := range []string{
		"CREATE TABLE big (id int PRIMARY KEY, small_id int NOT NULL, pad text NOT NULL)",
		"CREATE TABLE small (sid int PRIMARY KEY, label text NOT NULL)",
		"INSERT INTO big VALUES " + strings.Join(rows, ", "),
		"INSERT INTO small SELECT g, 'label-' || g FROM generate_series(0, 9) g",
		"SET distgres.max_intermediate_result_size = '4kB'",
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	const join = "SELECT s.label, count(*) FROM big b JOIN small s ON s.sid = b.small_id WHERE b.id <= %s GROUP BY s.label ORDER BY s.label"
	check := func(what string, q string, args ...any) {
		t.Helper()
		rs, err := conn.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var got []string
		for rs.Next() {
			var label string
			var n int64
			if err := rs.Scan(&label, &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s:%d", label, n))
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if want := "label-0:3 label-1:3 label-2:3 label-3:3 label-4:3 label-5:3 label-6:3 label-7:3 label-8:3 label-9:3"; strings.Join(got, " ") != want {
			t.Errorf("%s: %v, want %s", what, got, want)
		}
	}
	check("constant, simple protocol", fmt.Sprintf(join, "30"), pgx.QueryExecModeSimpleProtocol)
	check("parameter, extended protocol", fmt.Sprintf(join, "$1"), 30)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("in a block", fmt.Sprintf(join, "$1"), 30)
	check("again in the block", fmt.Sprintf(join, "30"))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Every row of big does not fit.
	_, err = conn.Exec(ctx, "SELECT count(*) FROM big b JOIN small s ON s.sid = b.small_id WHERE b.pad <> ''")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Errorf("join reading every row: err = %v, want SQLSTATE 54000", err)
	}
	if len(notices) > 0 {
		t.Errorf("notices reached the client: %q", notices)
	}
}
