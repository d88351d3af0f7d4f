package test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/test/harness"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// This file feeds the coordinator bad input — bad SQL, broken protocol
// messages, bad startup packets, stray cancel requests — over raw TCP
// connections and through pgx, and checks after every bad client that the
// coordinator still serves a healthy client correctly.

// biRowCount is the size of the healthy data set: k = 1..biRowCount, v = 'v' || k.
const biRowCount = 20

// biRaw is a hand-driven protocol client.
type biRaw struct {
	t       *testing.T
	conn    net.Conn
	fe      *pgproto3.Frontend
	pid     uint32
	secret  []byte
	lastErr pgproto3.ErrorResponse // the last ErrorResponse received
}

func biDial(t *testing.T, c *cluster.Cluster) *biRaw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", c.Addr.String(), 10*time.Second)
	if err != nil {
		t.Fatalf("dial coordinator: %v", err)
	}
	// An upper bound against hangs, not a performance assertion.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &biRaw{t: t, conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
}

func (r *biRaw) send(msgs ...pgproto3.FrontendMessage) {
	r.t.Helper()
	for _, m := range msgs {
		r.fe.Send(m)
	}
	if err := r.fe.Flush(); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

func (r *biRaw) write(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// summary describes a backend message in a short, comparable form.
func (r *biRaw) summary(msg pgproto3.BackendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.ErrorResponse:
		r.lastErr = *m
		return "E:" + m.Code
	case *pgproto3.ReadyForQuery:
		return "Z:" + string(m.TxStatus)
	case *pgproto3.BackendKeyData:
		r.pid, r.secret = m.ProcessID, append([]byte(nil), m.SecretKey...)
		return "K"
	case *pgproto3.ParameterStatus:
		return "S"
	case *pgproto3.AuthenticationOk:
		return "AuthOk"
	case *pgproto3.AuthenticationSASL:
		return "AuthSASL"
	case *pgproto3.ParseComplete:
		return "ParseComplete"
	case *pgproto3.BindComplete:
		return "BindComplete"
	case *pgproto3.CloseComplete:
		return "CloseComplete"
	case *pgproto3.NoData:
		return "NoData"
	case *pgproto3.ParameterDescription:
		return "ParameterDescription"
	case *pgproto3.RowDescription:
		return "T"
	case *pgproto3.DataRow:
		vals := make([]string, len(m.Values))
		for i, v := range m.Values {
			vals[i] = string(v)
		}
		return "D:" + strings.Join(vals, ",")
	case *pgproto3.CommandComplete:
		return "C:" + string(m.CommandTag)
	case *pgproto3.EmptyQueryResponse:
		return "EmptyQuery"
	case *pgproto3.PortalSuspended:
		return "PortalSuspended"
	case *pgproto3.NoticeResponse:
		return "N:" + m.Code
	default:
		return fmt.Sprintf("%T", msg)
	}
}

// untilReady reads messages up to and including ReadyForQuery.
func (r *biRaw) untilReady() []string {
	r.t.Helper()
	var got []string
	for {
		msg, err := r.fe.Receive()
		if err != nil {
			r.t.Fatalf("receive after %v: %v", got, err)
		}
		s := r.summary(msg)
		got = append(got, s)
		if strings.HasPrefix(s, "Z:") {
			return got
		}
	}
}

// untilClosed reads messages until the server closes the connection and
// fails the test if it does not close it in time.
func (r *biRaw) untilClosed() []string {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got []string
	for {
		msg, err := r.fe.Receive()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.t.Errorf("server did not close the connection (got %v)", got)
			}
			return got
		}
		got = append(got, r.summary(msg))
	}
}

func biStartupMessage(user string) *pgproto3.StartupMessage {
	return &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": user, "database": "postgres"},
	}
}

// startup starts a trust-authenticated session.
func (r *biRaw) startup() {
	r.t.Helper()
	r.send(biStartupMessage("postgres"))
	got := r.untilReady()
	if len(got) < 3 || got[0] != "AuthOk" || !biContains(got, "K") || got[len(got)-1] != "Z:I" {
		r.t.Fatalf("startup: got %v; want AuthenticationOk, ..., BackendKeyData, ReadyForQuery(I)", got)
	}
}

// checkQuery runs a simple query on the raw connection and compares the
// messages.
func (r *biRaw) checkQuery(sql string, want ...string) {
	r.t.Helper()
	r.send(&pgproto3.Query{String: sql})
	got := r.untilReady()
	if !biEqual(got, want) {
		r.t.Errorf("query %q: got %v; want %v", sql, got, want)
	}
}

// checkWorks asserts that the raw session still answers correctly.
func (r *biRaw) checkWorks() {
	r.t.Helper()
	r.checkQuery(fmt.Sprintf("SELECT count(*), sum(k) FROM bi WHERE k <= %d", biRowCount),
		"T", fmt.Sprintf("D:%d,%d", biRowCount, biRowCount*(biRowCount+1)/2), "C:SELECT 1", "Z:I")
}

func biContains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func biEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func biCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func biConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, harness.URL(url))
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// biHealthy asserts that the long-lived session keep and a brand-new one
// both still get correct answers.
func biHealthy(t *testing.T, c *cluster.Cluster, keep *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fresh, err := pgx.Connect(ctx, harness.URL(c.ClientURL))
	if err != nil {
		t.Fatalf("healthy client cannot connect any more: %v", err)
	}
	defer fresh.Close(context.Background())
	for _, conn := range []*pgx.Conn{keep, fresh} {
		var count, sum int64
		if err := conn.QueryRow(ctx, "SELECT count(*), sum(k) FROM bi").Scan(&count, &sum); err != nil {
			t.Fatalf("healthy client: scatter query: %v", err)
		}
		if count != biRowCount || sum != biRowCount*(biRowCount+1)/2 {
			t.Errorf("healthy client: count, sum = %d, %d; want %d, %d", count, sum, biRowCount, biRowCount*(biRowCount+1)/2)
		}
		var v string
		if err := conn.QueryRow(ctx, "SELECT v FROM bi WHERE k = $1", int64(7)).Scan(&v); err != nil {
			t.Fatalf("healthy client: point query: %v", err)
		}
		if v != "v7" {
			t.Errorf("healthy client: v of k=7 = %q; want v7", v)
		}
	}
}

func TestBadInput(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	ref := biConnect(t, harness.StartPostgres(t)) // stock PostgreSQL, for error positions
	keep := biConnect(t, c.ClientURL)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	if _, err := keep.Exec(ctx, "CREATE TABLE bi (k bigint PRIMARY KEY, v text) DISTRIBUTE BY HASH(k)"); err != nil {
		t.Fatal(err)
	}
	var values []string
	for k := 1; k <= biRowCount; k++ {
		values = append(values, fmt.Sprintf("(%d, 'v%d')", k, k))
	}
	if _, err := keep.Exec(ctx, "INSERT INTO bi (k, v) VALUES "+strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}
	biHealthy(t, c, keep)

	t.Run("SQL", func(t *testing.T) { biSQLErrors(t, c, keep, ref) })

	for _, tc := range biProtocolCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, c)
			biHealthy(t, c, keep)
		})
	}
}

// biSQLCase is a statement that must fail with code; pos > 0 is the
// expected error position, pos == -1 means "the same position as stock
// PostgreSQL" (syntax errors), 0 means not checked.
type biSQLCase struct {
	name string
	sql  string
	code string
	pos  int
	hint bool // a hint is required
	// simpleOnly: only meaningful in the simple protocol (several
	// statements in one string).
	simpleOnly bool
}

var biSQLCases = []biSQLCase{
	{name: "SyntaxErrorAtStart", sql: "SELEC k FROM bi", code: "42601", pos: -1},
	{name: "SyntaxErrorAtEnd", sql: "SELECT k FROM bi WHERE", code: "42601", pos: -1},
	{name: "SyntaxErrorMidway", sql: "SELECT k FROM bi WHERE k = = 1", code: "42601", pos: -1},
	{name: "UnterminatedString", sql: "SELECT 'abc", code: "42601", pos: -1},
	{name: "SyntaxErrorInSecondStatement", sql: "SELECT 1; SELEC 2", code: "42601", pos: -1},
	{name: "SyntaxErrorAfterGoodStatementsSimple", sql: "SELECT 1;\nSELECT k FROM bi WHERE k = 1;\nSELECT FROM FROM", code: "42601", pos: -1, simpleOnly: true},
	{name: "DistributeBySyntax", sql: "CREATE TABLE bi_bad (a int) DISTRIBUTE BY FOO", code: "42601", pos: strings.Index("CREATE TABLE bi_bad (a int) DISTRIBUTE BY FOO", "FOO") + 1},
	{name: "UnknownTable", sql: "SELECT * FROM no_such_table", code: "42P01"},
	{name: "UnknownTableInSubquery", sql: "SELECT k FROM bi WHERE k IN (SELECT x FROM no_such_table)", code: "42P01"},
	{name: "UnknownTableInsert", sql: "INSERT INTO no_such_table VALUES (1)", code: "42P01"},
	{name: "UnknownColumn", sql: "SELECT nope FROM bi", code: "42703"},
	{name: "UnknownColumnInWhere", sql: "SELECT k FROM bi WHERE nope = 1", code: "42703"},
	{name: "UnknownColumnPointQuery", sql: "SELECT nope FROM bi WHERE k = 3", code: "42703"},
	{name: "UnknownColumnInsert", sql: "INSERT INTO bi (k, nope) VALUES (1000, 1)", code: "42703"},
	{name: "UnknownColumnUpdate", sql: "UPDATE bi SET nope = 1 WHERE k = 1", code: "42703"},
	// Errors raised by the data nodes while executing.
	{name: "DuplicateKey", sql: "INSERT INTO bi (k, v) VALUES (3, 'dup')", code: "23505"},
	{name: "DivisionByZeroPointQuery", sql: "SELECT k / 0 FROM bi WHERE k = 5", code: "22012"},
	{name: "DivisionByZeroScatter", sql: "SELECT k / (k - k) FROM bi", code: "22012"},
	{name: "BadIntegerLiteral", sql: "SELECT v FROM bi WHERE k = 'abc'", code: "22P02"},
	{name: "UnsupportedCopyServerFile", sql: "COPY bi FROM '/etc/hostname'", code: "0A000", hint: true},
	{name: "UnsupportedCreateDatabase", sql: "CREATE DATABASE bi_db", code: "0A000", hint: true},
}

func biSQLErrors(t *testing.T, c *cluster.Cluster, keep *pgx.Conn, ref *pgx.Conn) {
	raw := biDial(t, c)
	raw.startup()
	conn := biConnect(t, c.ClientURL)
	for _, tc := range biSQLCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			wantPos := func(extended bool) int32 {
				if tc.pos >= 0 {
					return int32(tc.pos)
				}
				var err error
				if extended {
					err = biQueryErr(ctx, ref, tc.sql)
				} else {
					_, err = ref.Exec(ctx, tc.sql, pgx.QueryExecModeSimpleProtocol)
				}
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != tc.code || pe.Position == 0 {
					t.Fatalf("stock PostgreSQL answers %q with %v; the test expects %s with a position", tc.sql, err, tc.code)
				}
				return pe.Position
			}
			check := func(how string, got pgproto3.ErrorResponse, want int32) {
				t.Helper()
				if got.Code != tc.code {
					t.Errorf("%s: %q: SQLSTATE %s (%s); want %s", how, tc.sql, got.Code, got.Message, tc.code)
				}
				if want != 0 && got.Position != want {
					t.Errorf("%s: %q: error position %d; want %d (%s)", how, tc.sql, got.Position, want, got.Message)
				}
				if tc.hint && got.Hint == "" {
					t.Errorf("%s: %q: error %s %q has no hint", how, tc.sql, got.Code, got.Message)
				}
				if got.Severity != "ERROR" {
					t.Errorf("%s: %q: severity %q; want ERROR", how, tc.sql, got.Severity)
				}
			}
			fromErr := func(how string, err error) pgproto3.ErrorResponse {
				t.Helper()
				var pe *pgconn.PgError
				if !errors.As(err, &pe) {
					t.Errorf("%s: %q: got %v; want a server error %s", how, tc.sql, err, tc.code)
					return pgproto3.ErrorResponse{Code: "none", Severity: "ERROR"}
				}
				return pgproto3.ErrorResponse{Severity: pe.Severity, Code: pe.Code, Message: pe.Message, Hint: pe.Hint, Position: pe.Position}
			}

			// Raw simple query: exactly ErrorResponse then ReadyForQuery,
			// and the session carries on.
			raw.send(&pgproto3.Query{String: tc.sql})
			got := raw.untilReady()
			if len(got) < 2 || got[len(got)-2] != "E:"+tc.code || got[len(got)-1] != "Z:I" || biCount(got, "E:") != 1 {
				t.Errorf("raw simple query %q: got %v; want ... E:%s, Z:I", tc.sql, got, tc.code)
			}
			check("raw simple query", raw.lastErr, wantPos(false))
			raw.checkWorks()

			// pgx, simple protocol.
			_, err := conn.Exec(ctx, tc.sql, pgx.QueryExecModeSimpleProtocol)
			check("pgx simple protocol", fromErr("pgx simple protocol", err), wantPos(false))

			// pgx, extended protocol (the error comes from Parse/Describe).
			if !tc.simpleOnly {
				err = biQueryErr(ctx, conn, tc.sql)
				check("pgx extended protocol", fromErr("pgx extended protocol", err), wantPos(true))
			}
			var one int
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("pgx session after the error: SELECT 1 = %d, %v", one, err)
			}
			biHealthy(t, c, keep)
		})
	}
}

// biQueryErr runs sql through the extended protocol and returns its error.
func biQueryErr(ctx context.Context, conn *pgx.Conn, sql string) error {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// biFlipped returns a copy of a cancel key with one bit changed.
func biFlipped(key []byte) []byte {
	k := append([]byte(nil), key...)
	if len(k) == 0 {
		return []byte{1, 2, 3, 4}
	}
	k[len(k)-1] ^= 1
	return k
}

func biCount(xs []string, prefix string) int {
	n := 0
	for _, s := range xs {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// biMessage builds a regular protocol message with a length field that
// matches body.
func biMessage(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

// biHeader builds a message header with an arbitrary length field.
func biHeader(typ byte, length uint32) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], length)
	return b
}

// biStartupPacket builds a startup packet with the given protocol version
// and parameters.
func biStartupPacket(version uint32, params ...string) []byte {
	body := binary.BigEndian.AppendUint32(nil, version)
	for _, p := range params {
		body = append(append(body, p...), 0)
	}
	body = append(body, 0)
	return append(binary.BigEndian.AppendUint32(nil, uint32(4+len(body))), body...)
}

// expectFatalClose asserts that the server answers with exactly one
// ErrorResponse with one of codes and closes the connection.
func (r *biRaw) expectFatalClose(codes ...string) {
	r.t.Helper()
	got := r.untilClosed()
	if len(got) != 1 || !strings.HasPrefix(got[0], "E:") {
		r.t.Errorf("got %v before the connection closed; want one ErrorResponse (%v)", got, codes)
		return
	}
	ok := false
	for _, c := range codes {
		ok = ok || got[0] == "E:"+c
	}
	if !ok {
		r.t.Errorf("got %s (%s); want SQLSTATE %v", got[0], r.lastErr.Message, codes)
	}
	if r.lastErr.Severity != "FATAL" {
		r.t.Errorf("severity %q of %s; want FATAL", r.lastErr.Severity, got[0])
	}
}

var biProtocolCases = []struct {
	name string
	run  func(t *testing.T, c *cluster.Cluster)
}{
	{"GarbageMessageType", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.write(biMessage('!', nil))
		r.expectFatalClose("08P01")
	}},
	{"GarbageMessageTypeWithBody", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.write(biMessage(0xff, []byte("SELECT 1\x00")))
		r.expectFatalClose("08P01")
	}},
	{"OversizedMessage", func(t *testing.T, c *cluster.Cluster) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := biDial(t, c)
		r.startup()
		// A Query whose length field claims 1 GiB; the body never comes.
		r.write(biHeader('Q', 1<<30))
		r.expectFatalClose("08P01", "54000")
		runtime.ReadMemStats(&after)
		// The coordinator runs in this process: it must not have
		// allocated a buffer for the claimed body.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
			t.Errorf("the coordinator allocated %d MiB for a message it should have refused", grew>>20)
		}
	}},
	{"MaxLengthField", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.write(biHeader('P', 0xffffffff))
		r.expectFatalClose("08P01", "54000")
	}},
	{"LengthFieldTooSmall", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.write(biHeader('Q', 2))
		r.expectFatalClose("08P01")
	}},
	{"MalformedParseBody", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.write(biMessage('P', []byte("abc"))) // no NUL terminators
		r.expectFatalClose("08P01")
	}},
	{"MalformedBindBody", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		// Portal "", statement "", then a parameter-format count of 5 with
		// no formats following.
		r.write(biMessage('B', []byte{0, 0, 0, 5}))
		r.expectFatalClose("08P01")
	}},
	{"TruncatedMessageThenClose", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		msg := biMessage('Q', []byte("SELECT count(*) FROM bi\x00"))
		r.write(msg[:12])
		if err := r.conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got := r.untilClosed()
		for _, s := range got {
			if s != "E:08P01" {
				t.Errorf("after a truncated message: got %v; want nothing or a protocol violation error", got)
			}
		}
	}},
	{"TruncatedStartupThenClose", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write(biStartupPacket(pgproto3.ProtocolVersionNumber, "user", "postgres")[:10])
		if err := r.conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got := r.untilClosed()
		for _, s := range got {
			if s != "E:08P01" {
				t.Errorf("after a truncated startup packet: got %v; want nothing or a protocol violation error", got)
			}
		}
	}},
	{"StartupProtocol2", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write(biStartupPacket(2<<16, "user", "postgres", "database", "postgres"))
		r.expectFatalClose("0A000", "08P01")
	}},
	{"StartupProtocol4", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write(biStartupPacket(4<<16, "user", "postgres", "database", "postgres"))
		r.expectFatalClose("0A000", "08P01")
	}},
	{"StartupLengthTooSmall", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write([]byte{0, 0, 0, 4})
		r.expectFatalClose("08P01")
	}},
	{"StartupLengthBelowHeader", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write([]byte{0, 0, 0, 1})
		r.expectFatalClose("08P01")
	}},
	{"StartupLengthTooLarge", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write([]byte{0x40, 0, 0, 0}) // 1 GiB
		r.expectFatalClose("08P01")
	}},
	{"RegularMessageInsteadOfStartup", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		// A Query as the very first message: its type byte and length
		// read as a startup length of about 1.3 GB.
		r.write(biMessage('Q', []byte("SELECT 1\x00"))[:4])
		r.expectFatalClose("08P01")
	}},
	{"StartupWithoutUser", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.write(biStartupPacket(pgproto3.ProtocolVersionNumber, "database", "postgres"))
		r.expectFatalClose("28000")
	}},
	{"StartupUnterminatedParameters", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		p := biStartupPacket(pgproto3.ProtocolVersionNumber, "user", "postgres")
		p = p[:len(p)-2] // drop the value's NUL and the list's NUL
		binary.BigEndian.PutUint32(p, uint32(len(p)))
		r.write(p)
		r.expectFatalClose("08P01")
	}},
	{"BindMissingStatement", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.send(&pgproto3.Bind{PreparedStatement: "no_such_statement"}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:26000", "Z:I"}) {
			t.Errorf("Bind to a missing statement, Sync: got %v; want [E:26000 Z:I]", got)
		}
		r.checkWorks()
	}},
	{"DescribeMissingStatement", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.send(&pgproto3.Describe{ObjectType: 'S', Name: "no_such_statement"}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:26000", "Z:I"}) {
			t.Errorf("Describe of a missing statement, Sync: got %v; want [E:26000 Z:I]", got)
		}
		r.checkWorks()
	}},
	{"ExecuteMissingPortal", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.send(&pgproto3.Execute{Portal: "no_such_portal"}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:34000", "Z:I"}) {
			t.Errorf("Execute of a missing portal, Sync: got %v; want [E:34000 Z:I]", got)
		}
		r.send(&pgproto3.Describe{ObjectType: 'P', Name: "no_such_portal"}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:34000", "Z:I"}) {
			t.Errorf("Describe of a missing portal, Sync: got %v; want [E:34000 Z:I]", got)
		}
		r.checkWorks()
	}},
	{"ErrorSkipsToSync", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.send(&pgproto3.Parse{Query: "SELEC 1"}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'},
			&pgproto3.Execute{}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:42601", "Z:I"}) {
			t.Errorf("Parse(bad SQL), Bind, Describe, Execute, Sync: got %v; want exactly [E:42601 Z:I]", got)
		}
		if r.lastErr.Position != 1 {
			t.Errorf("Parse(bad SQL): error position %d; want 1", r.lastErr.Position)
		}
		// A good statement, then a failing Bind: the rest up to Sync is
		// skipped.
		r.send(&pgproto3.Parse{Name: "good", Query: "SELECT count(*) FROM bi"},
			&pgproto3.Bind{PreparedStatement: "missing"}, &pgproto3.Execute{},
			&pgproto3.Bind{PreparedStatement: "good"}, &pgproto3.Execute{}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"ParseComplete", "E:26000", "Z:I"}) {
			t.Errorf("Parse(good), Bind(missing), Execute, Bind(good), Execute, Sync: got %v; want [ParseComplete E:26000 Z:I]", got)
		}
		// After Sync the session works again, and the statement parsed
		// before the error survives.
		r.send(&pgproto3.Bind{PreparedStatement: "good"}, &pgproto3.Execute{}, &pgproto3.Sync{})
		want := []string{"BindComplete", fmt.Sprintf("D:%d", biRowCount), "C:SELECT 1", "Z:I"}
		if got := r.untilReady(); !biEqual(got, want) {
			t.Errorf("Bind(good), Execute, Sync after the error: got %v; want %v", got, want)
		}
		// A Sync on its own only answers ReadyForQuery.
		r.send(&pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"Z:I"}) {
			t.Errorf("lone Sync: got %v; want [Z:I]", got)
		}
		r.checkWorks()
	}},
	{"ErrorInTransactionBlock", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.checkQuery("BEGIN", "C:BEGIN", "Z:T")
		r.send(&pgproto3.Parse{Query: "SELECT nope FROM bi"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
		if got := r.untilReady(); !biEqual(got, []string{"E:42703", "Z:E"}) {
			t.Errorf("Parse(unknown column), Bind, Execute, Sync in a transaction block: got %v; want [E:42703 Z:E]", got)
		}
		r.checkQuery("SELECT 1", "E:25P02", "Z:E")
		r.checkQuery("ROLLBACK", "C:ROLLBACK", "Z:I")
		r.checkWorks()
	}},
	{"SSLRequestAnsweredN", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.send(&pgproto3.SSLRequest{})
		var b [1]byte
		if _, err := r.conn.Read(b[:]); err != nil {
			t.Fatalf("reading the SSLRequest answer: %v", err)
		}
		if b[0] != 'N' {
			t.Fatalf("SSLRequest answered %q; want 'N'", b[0])
		}
		r.startup()
		r.checkWorks()
	}},
	{"GSSEncRequestAnsweredN", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.send(&pgproto3.GSSEncRequest{})
		var b [1]byte
		if _, err := r.conn.Read(b[:]); err != nil {
			t.Fatalf("reading the GSSENCRequest answer: %v", err)
		}
		if b[0] != 'N' {
			t.Fatalf("GSSENCRequest answered %q; want 'N'", b[0])
		}
		r.startup()
		r.checkWorks()
	}},
	{"CancelRequestWrongKey", func(t *testing.T, c *cluster.Cluster) {
		victim := biDial(t, c)
		victim.startup()
		victim.send(&pgproto3.Query{String: "SELECT pg_sleep(1)"})
		time.Sleep(300 * time.Millisecond) // let the statement start
		for _, req := range []*pgproto3.CancelRequest{
			{ProcessID: victim.pid, SecretKey: biFlipped(victim.secret)},
			{ProcessID: victim.pid, SecretKey: make([]byte, len(victim.secret))},
			{ProcessID: victim.pid + 100000, SecretKey: victim.secret},
		} {
			r := biDial(t, c)
			r.send(req)
			if got := r.untilClosed(); len(got) != 0 {
				t.Errorf("CancelRequest answered %v; want the connection closed without a reply", got)
			}
		}
		if got := victim.untilReady(); !biEqual(got, []string{"T", "D:", "C:SELECT 1", "Z:I"}) {
			t.Errorf("statement after CancelRequests with wrong keys: got %v; want it to finish normally", got)
		}
		victim.checkWorks()
	}},
	{"CancelRequestRightKey", func(t *testing.T, c *cluster.Cluster) {
		// The control for CancelRequestWrongKey: the right key cancels.
		victim := biDial(t, c)
		victim.startup()
		victim.send(&pgproto3.Query{String: "SELECT pg_sleep(10)"})
		done := make(chan []string, 1)
		go func() {
			var got []string
			for {
				msg, err := victim.fe.Receive()
				if err != nil {
					done <- append(got, "error: "+err.Error())
					return
				}
				s := victim.summary(msg)
				got = append(got, s)
				if strings.HasPrefix(s, "Z:") {
					done <- got
					return
				}
			}
		}()
		var got []string
	wait:
		for {
			select {
			case got = <-done:
				break wait
			case <-time.After(250 * time.Millisecond):
				// Resend: the first request may come before the statement
				// started.
				conn, err := net.DialTimeout("tcp", c.Addr.String(), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				fe := pgproto3.NewFrontend(conn, conn)
				fe.Send(&pgproto3.CancelRequest{ProcessID: victim.pid, SecretKey: victim.secret})
				fe.Flush()
				conn.Close()
			}
		}
		if !biEqual(got, []string{"E:57014", "Z:I"}) && !biEqual(got, []string{"T", "E:57014", "Z:I"}) {
			t.Errorf("statement cancelled with the right key: got %v; want E:57014, Z:I", got)
		}
		victim.checkWorks()
	}},
	{"TerminateThenNothing", func(t *testing.T, c *cluster.Cluster) {
		r := biDial(t, c)
		r.startup()
		r.send(&pgproto3.Terminate{})
		if got := r.untilClosed(); len(got) != 0 {
			t.Errorf("after Terminate: got %v; want the connection closed", got)
		}
	}},
	{"ManyBadClientsAtOnce", func(t *testing.T, c *cluster.Cluster) {
		// Bad clients that hang around half-way do not block others.
		var idle []net.Conn
		for i := 0; i < 20; i++ {
			conn, err := net.DialTimeout("tcp", c.Addr.String(), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			switch i % 3 {
			case 0: // nothing sent
			case 1: // half a startup packet
				conn.Write(biStartupPacket(pgproto3.ProtocolVersionNumber, "user", "postgres")[:6])
			case 2: // a started session with half a message
				conn.Write(biStartupPacket(pgproto3.ProtocolVersionNumber, "user", "postgres", "database", "postgres"))
				conn.Write(biHeader('Q', 100))
			}
			idle = append(idle, conn)
		}
		r := biDial(t, c)
		r.startup()
		r.checkWorks()
		for _, conn := range idle {
			conn.Close()
		}
	}},
}
