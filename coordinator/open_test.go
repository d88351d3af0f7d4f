package coordinator

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/distgres/distgres/executor"
)

// listRows yields rows, then fails with err (if set) instead of ending.
type listRows struct {
	rows   [][][]byte
	i      int
	err    error
	closed bool
}

func (r *listRows) Next() bool {
	if r.i < len(r.rows) {
		r.i++
		return true
	}
	return false
}
func (r *listRows) Values() [][]byte { return r.rows[r.i-1] }
func (r *listRows) Err() error {
	if r.i == len(r.rows) {
		return r.err
	}
	return nil
}
func (r *listRows) Close() (string, error) { r.closed = true; return "SELECT", nil }

type listOp struct{ rows *listRows }

func (o listOp) Open(context.Context, *executor.Runtime, executor.Params) (executor.Rows, error) {
	return o.rows, nil
}
func (o listOp) Columns() []executor.Column    { return nil }
func (o listOp) Explain() executor.Description { return executor.Description{Operator: "List"} }

func TestOpenEarly(t *testing.T) {
	gone := errors.New(`relation "t_102008" does not exist`)
	tests := []struct {
		name    string
		rows    [][][]byte
		err     error
		wantErr bool // from openEarly itself, before any row
		want    []string
	}{
		{name: "rows", rows: [][][]byte{{[]byte("a")}, {[]byte("b")}}, want: []string{"a", "b"}},
		{name: "no rows", want: nil},
		{name: "error before any row", err: gone, wantErr: true},
		{name: "error after a row", rows: [][][]byte{{[]byte("a")}}, err: gone, want: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &listRows{rows: tt.rows, err: tt.err}
			rows, err := openEarly(context.Background(), listOp{src}, &executor.Runtime{}, executor.Params{})
			if tt.wantErr {
				if !errors.Is(err, gone) || !src.closed {
					t.Fatalf("openEarly = %v (closed %v), want the error and the rows closed", err, src.closed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				got = append(got, string(rows.Values()[0]))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
			if !errors.Is(rows.Err(), tt.err) {
				t.Errorf("Err = %v, want %v", rows.Err(), tt.err)
			}
		})
	}
}
