package datanode

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestExecAll(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conns := make([]*pgconn.PgConn, 3)
	for i := range conns {
		pc, err := pgconn.Connect(ctx, s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(context.Background())
		conns[i] = pc
	}
	// The failing statement sits between two that work: its error is its
	// own, and the statement after it still runs and is read.
	results, errs := ExecAll(ctx, conns, []string{"SELECT 1", "SELECT 1/0", "SELECT pg_backend_pid()::text"})
	tests := []struct {
		name     string
		wantErr  bool
		wantRows int
	}{
		{"first", false, 1},
		{"division by zero", true, 0},
		{"after the error", false, 1},
	}
	for i, tt := range tests {
		if (errs[i] != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, errs[i], tt.wantErr)
		}
		rows := 0
		for _, r := range results[i] {
			rows += len(r.Rows)
		}
		if rows != tt.wantRows {
			t.Errorf("%s: %d rows, want %d", tt.name, rows, tt.wantRows)
		}
	}
	// Every connection was read to the end and takes a new statement.
	for i, pc := range conns {
		if _, err := pc.Exec(ctx, "SELECT 2").ReadAll(); err != nil {
			t.Errorf("connection %d after ExecAll: %v", i, err)
		}
	}
}
