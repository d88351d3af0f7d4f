package executor

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/distgres/distgres/pgerr"
)

// Count is a LIMIT or OFFSET amount: a constant, a parameter, or absent.
type Count struct {
	Set   bool
	Const int64
	// Param is the 1-based parameter number, or 0 for a constant.
	Param int
}

// eval returns the amount, or def when it is absent or NULL (LIMIT NULL
// means no limit, OFFSET NULL means 0).
func (c Count) eval(params Params, def int64) (int64, error) {
	if !c.Set {
		return def, nil
	}
	if c.Param == 0 {
		return c.Const, nil
	}
	i := c.Param - 1
	if i >= len(params.Values) {
		return 0, pgerr.New(pgerr.UndefinedParameter, "there is no parameter $%d", c.Param)
	}
	v := params.Values[i]
	if v == nil {
		return def, nil
	}
	var n int64
	if params.Format(i) == BinaryFormat {
		switch len(v) {
		case 8:
			n = int64(uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 | uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7]))
		case 4:
			n = int64(int32(uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])))
		default:
			return 0, pgerr.New(pgerr.InvalidParameterValue, "invalid binary LIMIT/OFFSET parameter")
		}
	} else {
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err != nil {
			return 0, pgerr.New(pgerr.InvalidTextRep, "invalid input syntax for type bigint: %q", v)
		}
	}
	return n, nil
}

// noLimit stands for LIMIT ALL / LIMIT NULL.
const noLimit = math.MinInt64

// Limit skips Offset rows and passes at most Limit rows.
type Limit struct {
	Input  Operator
	Limit  Count
	Offset Count
}

var _ Operator = (*Limit)(nil)

func (l *Limit) Open(ctx context.Context, rt *Runtime, params Params) (Rows, error) {
	limit, err := l.Limit.eval(params, noLimit)
	if err != nil {
		return nil, err
	}
	offset, err := l.Offset.eval(params, 0)
	if err != nil {
		return nil, err
	}
	if limit < 0 && limit != noLimit {
		return nil, pgerr.New("2201W", "LIMIT must not be negative")
	}
	if offset < 0 {
		return nil, pgerr.New("2201X", "OFFSET must not be negative")
	}
	in, err := openStep(ctx, rt, l.Input, params)
	if err != nil {
		return nil, err
	}
	return &limitRows{in: in, limit: limit, offset: offset}, nil
}

func (l *Limit) Columns() []Column { return l.Input.Columns() }

func (l *Limit) Explain() Description {
	return Description{Operator: "Limit", Detail: []string{fmt.Sprintf("limit=%+v offset=%+v", l.Limit, l.Offset)}, Inputs: []Description{Describe(l.Input)}}
}

type limitRows struct {
	in            Rows
	limit, offset int64
	n             int64
}

func (r *limitRows) Next() bool {
	for r.offset > 0 {
		if !r.in.Next() {
			return false
		}
		r.offset--
	}
	if r.limit != noLimit && r.n >= r.limit {
		return false
	}
	if !r.in.Next() {
		return false
	}
	r.n++
	return true
}

func (r *limitRows) Values() [][]byte { return r.in.Values() }
func (r *limitRows) Err() error       { return r.in.Err() }
func (r *limitRows) Close() (string, error) {
	_, err := r.in.Close()
	return formatTag("SELECT", r.n), err
}
