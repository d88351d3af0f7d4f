package coordinator

import (
	"context"
	"fmt"
	"github.com/distgres/distgres/sqlquote"
	"sort"
	"strconv"
	"strings"

	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgproto3/v2"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// SettingDefaultDistribution is the distgres setting that chooses how
// CREATE TABLE without DISTRIBUTE BY places a table.
const SettingDefaultDistribution = "distgres.default_distribution"

// SettingMaxIntermediate bounds the rows copied between nodes for one
// statement (tables pulled to one node for joins and subqueries).
const SettingMaxIntermediate = "distgres.max_intermediate_result_size"

// defaultMaxIntermediate is the default of SettingMaxIntermediate.
const defaultMaxIntermediate = "1GB"

// SettingMaxBroadcast bounds the rows a statement ships to every node in
// its text (a join of distributed tables on other columns than their
// distribution columns): past it, the statement is pulled to one node.
const SettingMaxBroadcast = "distgres.max_broadcast_size"

// defaultMaxBroadcast is the default of SettingMaxBroadcast: past a few
// megabytes a node parses and plans the shipped rows for longer than a
// pull takes to copy them.
const defaultMaxBroadcast = "4MB"

// sizeSettings are the settings whose values are sizes, with defaults.
var sizeSettings = map[string]string{SettingMaxIntermediate: defaultMaxIntermediate, SettingMaxBroadcast: defaultMaxBroadcast}

var distributionModes = map[string]bool{"default": true, "": true, "hash": true, "replication": true, "roundrobin": true, "hash-first-column": true}

// sessionSettings are a session's configuration settings: those from the
// startup packet (the session defaults) and those SET since.
type sessionSettings struct {
	startup map[string]string
	current map[string]string
	local   map[string]string // distgres.* settings, never sent to nodes
	sig     string
	sigOK   bool
}

// notForNodes are settings that the coordinator keeps to itself.
var notForNodes = map[string]bool{"application_name": true, "client_encoding": true, "user": true, "database": true, "options": true, "replication": true}

func (s *sessionSettings) init(params map[string]string, defaultDistribution string) {
	s.startup = map[string]string{}
	s.local = map[string]string{SettingDefaultDistribution: defaultDistribution, SettingMaxIntermediate: defaultMaxIntermediate, SettingMaxBroadcast: defaultMaxBroadcast}
	for k, v := range params {
		switch strings.ToLower(k) {
		case "user", "database", "replication", "options":
			continue
		}
		if strings.HasPrefix(strings.ToLower(k), "distgres.") {
			s.local[strings.ToLower(k)] = v
			continue
		}
		s.startup[strings.ToLower(k)] = v
	}
	s.reset()
}

func (s *sessionSettings) reset() {
	s.current = make(map[string]string, len(s.startup))
	for k, v := range s.startup {
		s.current[k] = v
	}
	s.sigOK = false
}

func (s *sessionSettings) set(name, value string) {
	s.current[name] = value
	s.sigOK = false
}

func (s *sessionSettings) unset(name string) {
	if v, ok := s.startup[name]; ok {
		s.current[name] = v
	} else {
		delete(s.current, name)
	}
	s.sigOK = false
}

// forNodes lists the settings data-node connections must carry, sorted.
func (s *sessionSettings) forNodes() [][2]string {
	var out [][2]string
	for k, v := range s.current {
		if !notForNodes[k] {
			out = append(out, [2]string{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// signature identifies the node-relevant settings ("" for none).
func (s *sessionSettings) signature() string {
	if s.sigOK {
		return s.sig
	}
	var b strings.Builder
	for _, kv := range s.forNodes() {
		b.WriteString(kv[0])
		b.WriteByte(0)
		b.WriteString(kv[1])
		b.WriteByte(0)
	}
	s.sig, s.sigOK = b.String(), true
	return s.sig
}

// applySQL is the statement that gives a connection these settings.
func (s *sessionSettings) applySQL() string {
	var b strings.Builder
	b.WriteString("RESET ALL")
	kvs := s.forNodes()
	if len(kvs) > 0 {
		b.WriteString("; SELECT ")
		for i, kv := range kvs {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "pg_catalog.set_config(%s, %s, false)", sqlquote.Literal(kv[0]), sqlquote.Literal(kv[1]))
		}
	}
	return b.String()
}

// startupValues checks the startup settings on a data node and returns
// the values reported to the client.
func (ss *session) startupValues(ctx context.Context) (map[string]string, error) {
	vals := map[string]string{
		"application_name":              ss.settings.current["application_name"],
		"client_encoding":               "UTF8",
		"is_superuser":                  "on",
		"session_authorization":         ss.user,
		"default_transaction_read_only": "off",
		"in_hot_standby":                "off",
	}
	if ce, ok := ss.settings.current["client_encoding"]; ok && ce != "" && !strings.EqualFold(ce, "auto") {
		vals["client_encoding"] = strings.ToUpper(ce)
	}
	names := []string{"DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings", "server_encoding", "server_version"}
	var q strings.Builder
	q.WriteString("SELECT ")
	for i, n := range names {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "current_setting('%s')", n)
	}
	c, err := shell{ss}.conn(ctx)
	if err != nil {
		return nil, err
	}
	res := c.PgConn().ExecParams(ctx, q.String(), nil, nil, nil, nil).Read()
	c.Release(res.Err != nil)
	if res.Err != nil {
		return nil, res.Err
	}
	for i, n := range names {
		vals[n] = string(res.Rows[0][i])
	}
	return vals, nil
}

// variableSet runs SET and RESET. distgres.* settings live in the
// coordinator; the rest are checked on a data node and then carried by
// every data-node connection of the session.
func (ss *session) variableSet(ctx context.Context, sql string, vs *pg_query.VariableSetStmt) (string, error) {
	name := strings.ToLower(vs.Name)
	if vs.Kind == pg_query.VariableSetKind_VAR_SET_MULTI {
		// SET TRANSACTION / SESSION CHARACTERISTICS
		if ss.tx != nil {
			return "SET", ss.tx.broadcast(ctx, sql)
		}
		return "", pgerr.Unsupported("Give the isolation level in BEGIN.", "%s outside a transaction block is not supported", sql)
	}
	if vs.IsLocal {
		if ss.tx == nil {
			return "SET", nil // PostgreSQL warns and does nothing
		}
		return "SET", ss.tx.setLocal(ctx, sql)
	}
	if strings.HasPrefix(name, "distgres.") {
		return ss.setLocalSetting(name, vs)
	}
	switch name {
	case "session_authorization", "role":
		return "", pgerr.Unsupported("Connect as the user instead.", "SET %s is not supported", name)
	}
	c, err := shell{ss}.conn(ctx)
	if err != nil {
		return "", err
	}
	pc := c.PgConn()
	q := sql
	if vs.Kind != pg_query.VariableSetKind_VAR_RESET_ALL {
		q += "; SELECT current_setting(" + sqlquote.Literal(name) + ")"
	}
	results, err := pc.Exec(ctx, q).ReadAll()
	ss.srv.settings.set(pc, dirty)
	c.Release(err != nil && !isServerErr(err))
	if err != nil {
		return "", err
	}
	switch vs.Kind {
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		ss.settings.reset()
		return "RESET", nil
	case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_SET_DEFAULT:
		ss.settings.unset(name)
	default:
		if len(results) < 2 || len(results[1].Rows) == 0 {
			return "", fmt.Errorf("coordinator: no value for setting %s", name)
		}
		ss.settings.set(name, string(results[1].Rows[0][0]))
	}
	if rep, ok := isReported(name); ok && len(results) > 1 && len(results[1].Rows) > 0 {
		ss.w.send(&pgproto3.ParameterStatus{Name: rep, Value: string(results[1].Rows[0][0])})
	}
	if vs.Kind == pg_query.VariableSetKind_VAR_RESET {
		return "RESET", nil
	}
	return "SET", nil
}

func (ss *session) setLocalSetting(name string, vs *pg_query.VariableSetStmt) (string, error) {
	if _, ok := sizeSettings[name]; ok {
		return ss.setSize(name, vs)
	}
	if name != SettingDefaultDistribution {
		return "", pgerr.New(pgerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	switch vs.Kind {
	case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_SET_DEFAULT:
		ss.settings.local[name] = ss.srv.cfg.DefaultDistribution
		return "RESET", nil
	}
	if len(vs.Args) != 1 {
		return "", pgerr.New(pgerr.InvalidParameterValue, "SET %s takes one value", name)
	}
	c := vs.Args[0].GetAConst()
	v := ""
	if c != nil {
		v = c.GetSval().GetSval()
	}
	if !distributionModes[v] || c == nil {
		return "", pgerr.New(pgerr.InvalidParameterValue, "invalid value for parameter %q", name).WithHint("Available values: default, hash, hash-first-column, replication, roundrobin.")
	}
	if v == "default" {
		v = ""
	}
	ss.settings.local[name] = v
	return "SET", nil
}

// showLocal answers SHOW for distgres.* settings.
func (ss *session) showLocal(name string) (string, bool) {
	name = strings.ToLower(name)
	if !strings.HasPrefix(name, "distgres.") {
		return "", false
	}
	v, ok := ss.settings.local[name]
	if !ok {
		return "", false
	}
	if v == "" {
		v = "default"
	}
	return v, true
}

// setSize sets one of the sizeSettings.
func (ss *session) setSize(name string, vs *pg_query.VariableSetStmt) (string, error) {
	switch vs.Kind {
	case pg_query.VariableSetKind_VAR_RESET, pg_query.VariableSetKind_VAR_SET_DEFAULT:
		ss.settings.local[name] = sizeSettings[name]
		return "RESET", nil
	}
	if len(vs.Args) != 1 {
		return "", pgerr.New(pgerr.InvalidParameterValue, "SET %s takes one value", name)
	}
	var v string
	switch c := vs.Args[0].GetAConst(); {
	case c == nil:
	case c.GetSval() != nil:
		v = c.GetSval().GetSval()
	case c.GetIval() != nil:
		v = strconv.FormatInt(int64(c.GetIval().GetIval()), 10)
	}
	if _, err := parseSize(v); err != nil {
		return "", pgerr.New(pgerr.InvalidParameterValue, "invalid value for parameter %q: %q", name, v).WithHint("Give bytes, or a number with kB, MB or GB; 0 means no limit.")
	}
	ss.settings.local[name] = v
	return "SET", nil
}

// parseSize reads "1048576", "512kB", "64MB" or "1GB".
func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return n * mult, nil
}

// maxIntermediate is the session's bound on intermediate results.
func (ss *session) maxIntermediate() int64 {
	n, _ := parseSize(ss.settings.local[SettingMaxIntermediate])
	return n
}

// maxBroadcast is the session's bound on rows shipped in statements.
func (ss *session) maxBroadcast() int64 {
	n, _ := parseSize(ss.settings.local[SettingMaxBroadcast])
	return n
}
