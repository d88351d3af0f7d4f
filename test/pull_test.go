package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
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
	// No temporary table stays on the node's shell database.
	var temps int64
	shell := connect(t, c.NodeURL(0))
	if err := shell.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname LIKE 'distgres_pull_%'").Scan(&temps); err != nil || temps != 0 {
		t.Errorf("temporary pull tables left: %d, %v", temps, err)
	}
}
