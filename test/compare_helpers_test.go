package test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file holds the machinery of the differential tests in
// compare_test.go: running one query on distgres and on a stock
// PostgreSQL in the same client mode, and comparing what comes back.

// cmpMode is a way a client sends a query.
type cmpMode struct {
	name string
	exec pgx.QueryExecMode
}

// cmpModes are the client modes every query runs in: the simple query
// protocol (text results, arguments interpolated by pgx), the extended
// protocol with text results (pgx's exec mode: unnamed statement, text
// parameters and results) and the extended protocol with a prepared
// statement and binary results for every type pgx knows.
var cmpModes = []cmpMode{
	{"simple", pgx.QueryExecModeSimpleProtocol},
	{"extended-text", pgx.QueryExecModeExec},
	{"extended-binary", pgx.QueryExecModeCacheStatement},
}

// cmpQuery is one query of the differential test.
type cmpQuery struct {
	name string
	sql  string
	args []any
	// ordered: the query's ORDER BY fixes the order of the result rows
	// completely, so rows are compared in order; otherwise both results
	// are sorted first.
	ordered bool
	// approx: float8 values are compared with a relative tolerance (sums
	// of arbitrary floats depend on the order of the additions).
	approx bool
	// empty: PostgreSQL returns no rows (otherwise it must return some,
	// so that no comparison is vacuous).
	empty bool
	// rawBinary: binary numerics are compared byte for byte (by default
	// they are compared by value and display scale).
	rawBinary bool
	// wantErr is the SQLSTATE PostgreSQL fails with, for error cases.
	wantErr string
}

// cmpField is the part of a RowDescription field that must match between
// distgres and PostgreSQL (table OIDs and attribute numbers differ between
// two servers by nature).
type cmpField struct {
	Name   string
	OID    uint32
	Size   int16
	Mod    int32
	Format int16
}

func (f cmpField) String() string {
	return fmt.Sprintf("%s(oid=%d size=%d typmod=%d format=%d)", f.Name, f.OID, f.Size, f.Mod, f.Format)
}

// cmpNull stands for SQL NULL in a result row.
const cmpNull = "\x00NULL"

// cmpResult is what a query returned: fields, rows (text values as they
// are, binary values hex encoded, NULL as cmpNull), the command tag, or
// an error.
type cmpResult struct {
	Fields  []cmpField
	Rows    [][]string
	Tag     string
	ErrCode string
	Err     string
}

// cmpRun runs a query in a mode and collects the whole result.
func cmpRun(ctx context.Context, conn *pgx.Conn, mode cmpMode, sql string, args []any) cmpResult {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var res cmpResult
	rows, err := conn.Query(ctx, sql, append([]any{mode.exec}, args...)...)
	if err != nil {
		return cmpError(err)
	}
	for _, fd := range rows.FieldDescriptions() {
		res.Fields = append(res.Fields, cmpField{Name: fd.Name, OID: fd.DataTypeOID, Size: fd.DataTypeSize, Mod: fd.TypeModifier, Format: fd.Format})
	}
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, v := range raw {
			switch {
			case v == nil:
				row[i] = cmpNull
			case i < len(res.Fields) && res.Fields[i].Format == 1:
				row[i] = `\x` + hex.EncodeToString(v)
			default:
				row[i] = string(v)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		e := cmpError(err)
		e.Fields = res.Fields
		return e
	}
	res.Tag = rows.CommandTag().String()
	return res
}

func cmpError(err error) cmpResult {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return cmpResult{ErrCode: pe.Code, Err: pe.Error()}
	}
	return cmpResult{ErrCode: "(client)", Err: err.Error()}
}

// sortRows orders rows by their values, for queries without a complete
// ORDER BY.
func sortRows(rows [][]string) [][]string {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

// cmpCompare returns a description of every difference between want (from
// PostgreSQL) and got (from distgres), or "" if they are the same.
func cmpCompare(q cmpQuery, want, got cmpResult) string {
	var diffs []string
	if want.ErrCode != "" || got.ErrCode != "" {
		if want.ErrCode != got.ErrCode {
			return fmt.Sprintf("error differs:\n  postgres: %s\n  distgres: %s", cmpErrText(want), cmpErrText(got))
		}
		// Both failed with the same SQLSTATE: that is the same answer.
		return ""
	}
	if !slices.Equal(want.Fields, got.Fields) {
		diffs = append(diffs, fmt.Sprintf("fields differ:\n  postgres: %v\n  distgres: %v", want.Fields, got.Fields))
	}
	if want.Tag != got.Tag {
		diffs = append(diffs, fmt.Sprintf("command tag differs: postgres %q, distgres %q", want.Tag, got.Tag))
	}
	wr, gr := want.Rows, got.Rows
	if !q.ordered {
		wr, gr = sortRows(wr), sortRows(gr)
	}
	if d := cmpRowsDiff(q, want.Fields, wr, gr); d != "" {
		diffs = append(diffs, d)
	}
	return strings.Join(diffs, "\n")
}

func cmpErrText(r cmpResult) string {
	if r.ErrCode == "" {
		return fmt.Sprintf("no error (%d rows, tag %q)", len(r.Rows), r.Tag)
	}
	return fmt.Sprintf("SQLSTATE %s: %s", r.ErrCode, r.Err)
}

// cmpRowsDiff compares two row lists and describes the first differences
// with both sides printed.
func cmpRowsDiff(q cmpQuery, fields []cmpField, want, got [][]string) string {
	const maxShown = 8
	var b strings.Builder
	shown := 0
	n := max(len(want), len(got))
	for i := 0; i < n && shown < maxShown; i++ {
		var w, g []string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != nil && g != nil && cmpRowEqual(q, fields, w, g) {
			continue
		}
		if shown == 0 {
			fmt.Fprintf(&b, "rows differ (postgres %d rows, distgres %d rows; showing the first differences)", len(want), len(got))
		}
		fmt.Fprintf(&b, "\n  row %d:\n    postgres: %s\n    distgres: %s", i, cmpFormatRow(w), cmpFormatRow(g))
		shown++
	}
	if shown == 0 && len(want) != len(got) {
		fmt.Fprintf(&b, "row counts differ: postgres %d, distgres %d", len(want), len(got))
	}
	return b.String()
}

func cmpFormatRow(r []string) string {
	if r == nil {
		return "(no row)"
	}
	parts := make([]string, len(r))
	for i, v := range r {
		if v == cmpNull {
			parts[i] = "NULL"
		} else {
			parts[i] = strconv.Quote(v)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func cmpRowEqual(q cmpQuery, fields []cmpField, a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		if i < len(fields) && fields[i].OID == 1700 && fields[i].Format == 1 && !q.rawBinary {
			if x, y := cmpCanonicalNumeric(a[i]), cmpCanonicalNumeric(b[i]); x != "" && x == y {
				continue
			}
		}
		if !q.approx || i >= len(fields) || fields[i].OID != 701 || a[i] == cmpNull || b[i] == cmpNull {
			return false
		}
		x, okx := cmpFloat(fields[i], a[i])
		y, oky := cmpFloat(fields[i], b[i])
		if !okx || !oky || math.Abs(x-y) > 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
			return false
		}
	}
	return true
}

// cmpFloat decodes a float8 value in the field's format.
func cmpFloat(f cmpField, v string) (float64, bool) {
	if f.Format == 1 {
		b, err := hex.DecodeString(strings.TrimPrefix(v, `\x`))
		if err != nil || len(b) != 8 {
			return 0, false
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), true
	}
	x, err := strconv.ParseFloat(v, 64)
	return x, err == nil
}

// cmpSummary is a short form of a result for logs.
func cmpSummary(r cmpResult) string {
	if r.ErrCode != "" {
		return cmpErrText(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v tag %q", r.Fields, r.Tag)
	for i, row := range r.Rows {
		if i == 5 {
			fmt.Fprintf(&b, "\n    ... %d more rows", len(r.Rows)-5)
			break
		}
		fmt.Fprintf(&b, "\n    %s", cmpFormatRow(row))
	}
	return b.String()
}

// cmpConnect opens a pgx connection to url (sslmode=disable added) with
// extra connection parameters, closed when the test ends.
func cmpConnect(t *testing.T, url string, params ...string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := harness.URL(url)
	for _, p := range params {
		u += "&" + p
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// cmpExec runs statements that must succeed.
func cmpExec(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := conn.Exec(ctx, sql)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", cmpShort(sql), err)
		}
	}
}

// cmpShort shortens long SQL (INSERT batches) for messages.
func cmpShort(sql string) string {
	if len(sql) > 200 {
		return sql[:200] + "..."
	}
	return sql
}

// cmpLiteral renders a text value as an SQL string literal.
func cmpLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// cmpCanonicalNumeric rewrites a hex-encoded binary numeric without
// leading and trailing zero base-10000 digits, as PostgreSQL sends it; ""
// if it is not a valid binary numeric.
func cmpCanonicalNumeric(v string) string {
	b, err := hex.DecodeString(strings.TrimPrefix(v, `\x`))
	if err != nil || len(b) < 8 {
		return ""
	}
	ndigits := int(binary.BigEndian.Uint16(b[0:]))
	weight := int16(binary.BigEndian.Uint16(b[2:]))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := binary.BigEndian.Uint16(b[6:])
	if len(b) != 8+2*ndigits {
		return ""
	}
	digits := make([]uint16, ndigits)
	for i := range digits {
		digits[i] = binary.BigEndian.Uint16(b[8+2*i:])
	}
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 && (sign == 0 || sign == 0x4000) {
		weight, sign = 0, 0 // zero
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(digits)))
	out = binary.BigEndian.AppendUint16(out, uint16(weight))
	out = binary.BigEndian.AppendUint16(out, sign)
	out = binary.BigEndian.AppendUint16(out, dscale)
	for _, d := range digits {
		out = binary.BigEndian.AppendUint16(out, d)
	}
	return hex.EncodeToString(out)
}

// cmpEach runs every query in every client mode on stock PostgreSQL and
// on distgres and reports each difference, under label.
func cmpEach(t *testing.T, ctx context.Context, ref, dist *pgx.Conn, label string, queries []cmpQuery) {
	t.Helper()
	for _, q := range queries {
		for _, mode := range cmpModes {
			want := cmpRun(ctx, ref, mode, q.sql, q.args)
			got := cmpRun(ctx, dist, mode, q.sql, q.args)
			if d := cmpCompare(q, want, got); d != "" {
				t.Errorf("%s %s (%s): %s", label, q.name, mode.name, d)
			}
		}
	}
}
