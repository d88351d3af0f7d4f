package executor

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
)

// InsertSelect runs INSERT ... SELECT through the coordinator: it reads
// the source query's rows (bounded by Runtime.MaxIntermediateBytes), sends
// each row to its shard, and inserts them in batches with parameters typed
// as the source columns, so that PostgreSQL applies the same assignment
// casts as for a local INSERT ... SELECT.
type InsertSelect struct {
	Source Operator
	// SourceTypes are the source columns' type OIDs.
	SourceTypes []uint32
	// Prefix is, per shard, "INSERT INTO shard (columns) VALUES ".
	Prefix []string
	// Nodes holds, per shard, the nodes to write (several for a
	// reference table).
	Nodes    [][]catalog.Node
	Database string
	// Choose picks a row's shard.
	Choose func(row [][]byte) (int, error)
	// Verb names the command in its tag (default INSERT; UPDATE for an
	// update that moves rows between shards).
	Verb string
}

var _ Operator = (*InsertSelect)(nil)

func (s *InsertSelect) Columns() []Column { return nil }

func (s *InsertSelect) Explain() Description {
	return Description{Operator: "Insert Select", Detail: []string{fmt.Sprintf("shards: %d", len(s.Prefix))}, Inputs: []Description{Describe(s.Source)}}
}

func (s *InsertSelect) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	srt := *rt
	srt.ResultFormats = nil
	src, err := openStep(ctx, &srt, s.Source, params)
	if err != nil {
		return nil, err
	}
	byShard := map[int][][][]byte{}
	var order []int
	var size int64
	for src.Next() {
		vals := src.Values()
		row := make([][]byte, len(vals))
		for i, v := range vals {
			row[i] = cloneBytes(v)
			size += int64(len(v)) + 4
		}
		if rt.MaxIntermediateBytes > 0 && size > rt.MaxIntermediateBytes {
			src.Close()
			return nil, pgerr.New(pgerr.ProgramLimitExceeded, "INSERT ... SELECT reads more than distgres.max_intermediate_result_size (%d bytes)", rt.MaxIntermediateBytes).
				WithHint("Insert in smaller steps, or raise distgres.max_intermediate_result_size.")
		}
		i, err := s.Choose(row)
		if err != nil {
			src.Close()
			return nil, err
		}
		if _, ok := byShard[i]; !ok {
			order = append(order, i)
		}
		byShard[i] = append(byShard[i], row)
	}
	if err := src.Err(); err != nil {
		src.Close()
		return nil, err
	}
	if _, err := src.Close(); err != nil {
		return nil, err
	}
	var inserted int64
	for _, i := range order {
		for _, node := range s.Nodes[i] {
			n, err := s.insertRows(ctx, rt, node, s.Prefix[i], byShard[i])
			if err != nil {
				return nil, err
			}
			if node.ID == s.Nodes[i][0].ID {
				inserted += n
			}
		}
	}
	verb := s.Verb
	if verb == "" {
		verb = "INSERT"
	}
	return &valuesRows{bufferedRows: bufferedRows{i: -1}, tag: formatTag(verb, inserted)}, nil
}

// insertRows writes rows to one shard on one node in batches.
func (s *InsertSelect) insertRows(ctx context.Context, rt *Runtime, node catalog.Node, prefix string, rows [][][]byte) (int64, error) {
	conn, err := rt.Conns.Acquire(ctx, node, s.Database)
	if err != nil {
		return 0, err
	}
	ncols := len(s.SourceTypes)
	per := 1000
	if ncols > 0 && per*ncols > 65535 {
		per = 65535 / ncols
	}
	var total int64
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		var sql strings.Builder
		sql.WriteString(prefix)
		values := make([][]byte, 0, (end-start)*ncols)
		oids := make([]uint32, 0, (end-start)*ncols)
		for r := start; r < end; r++ {
			if r > start {
				sql.WriteString(", ")
			}
			sql.WriteByte('(')
			for c := 0; c < ncols; c++ {
				if c > 0 {
					sql.WriteString(", ")
				}
				sql.WriteByte('$')
				sql.WriteString(strconv.Itoa(len(values) + 1))
				values = append(values, rows[r][c])
				oids = append(oids, s.SourceTypes[c])
			}
			sql.WriteByte(')')
		}
		res := conn.PgConn().ExecParams(ctx, sql.String(), values, oids, nil, nil).Read()
		if res.Err != nil {
			conn.Release(!pgerr.FromDataNode(res.Err))
			return 0, res.Err
		}
		total += res.CommandTag.RowsAffected()
	}
	conn.Release(false)
	return total, nil
}
