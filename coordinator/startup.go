package coordinator

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/distgres/distgres/coordinator/auth"
	"github.com/distgres/distgres/netspin"
	"github.com/distgres/distgres/pgerr"
	"github.com/jackc/pgproto3/v2"
)

// startupTimeout bounds the time a client may take to start up and
// authenticate (PostgreSQL's authentication_timeout).
const startupTimeout = 60 * time.Second

// handle serves one client connection from startup to Terminate.
func (s *Server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	defer func() {
		// A bug in one session must not take the coordinator down.
		if r := recover(); r != nil {
			s.log.Error("session panicked", "remote", c.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	act := &activity{gate: &s.poll}
	cr := &limitedReader{cr: pgproto3.NewChunkReader(netspin.Wrap(c, pollBudget, act.pollClient)), max: s.cfg.MaxMessageSize}
	w := &writer{w: bufio.NewWriterSize(c, 64<<10)}
	be := pgproto3.NewBackend(cr, w.w)
	c.SetDeadline(time.Now().Add(startupTimeout))
	startup, err := s.startup(be, w)
	if err != nil || startup == nil {
		if err != nil {
			s.log.Debug("startup failed", "remote", c.RemoteAddr(), "err", err)
		}
		return
	}
	ss := newSession(s, c, be, w, act, startup.Parameters)
	if err := ss.authenticate(ctx); err != nil {
		s.log.Info("authentication failed", "user", ss.user, "err", err)
		return
	}
	s.register(ss)
	defer s.unregister(ss)
	if err := ss.begin(ctx); err != nil {
		w.send(errorResponse(fatal(err), 0))
		w.flush()
		return
	}
	c.SetDeadline(time.Time{})
	ss.run(ctx)
}

// startup reads the startup packet, answering SSL and GSS encryption
// requests with 'N' and serving cancel requests. It returns nil, nil for a
// connection that only cancelled.
func (s *Server) startup(be *pgproto3.Backend, w *writer) (*pgproto3.StartupMessage, error) {
	for {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			w.send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: pgerr.ProtocolViolation, Message: "invalid startup packet: " + err.Error()})
			w.flush()
			return nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if err := w.w.WriteByte('N'); err != nil {
				return nil, err
			}
			if err := w.flush(); err != nil {
				return nil, err
			}
		case *pgproto3.CancelRequest:
			s.cancel(m.ProcessID, m.SecretKey)
			return nil, nil
		case *pgproto3.StartupMessage:
			if m.ProtocolVersion>>16 != 3 {
				w.send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "0A000", Message: "unsupported frontend protocol"})
				w.flush()
				return nil, errors.New("unsupported protocol version")
			}
			params := make(map[string]string, len(m.Parameters))
			for k, v := range m.Parameters {
				params[k] = v
			}
			return &pgproto3.StartupMessage{ProtocolVersion: m.ProtocolVersion, Parameters: params}, nil
		default:
			return nil, errors.New("unexpected startup message")
		}
	}
}

// fatal marks an error as ending the session.
func fatal(err error) error {
	f := pgerr.FieldsOf(err)
	return &pgerr.Error{Severity: "FATAL", Code: f.Code, Message: f.Message, Detail: f.Detail, Hint: f.Hint}
}

// authenticate checks the user and database and runs SCRAM when users
// are configured.
func (ss *session) authenticate(ctx context.Context) error {
	cfg := ss.srv.cfg
	if ss.user == "" {
		err := &pgerr.Error{Severity: "FATAL", Code: pgerr.InvalidAuthorization, Message: "no PostgreSQL user name specified in startup packet"}
		ss.w.send(errorResponse(err, 0))
		ss.w.flush()
		return err
	}
	if cfg.Users != nil {
		err := auth.Authenticate(ctx, ss.be, ss.w.flush, cfg.Users, ss.user)
		if err != nil {
			var ae *auth.AuthError
			if errors.As(err, &ae) {
				ss.w.send(ae.ErrorResponse())
				ss.w.flush()
			}
			return err
		}
	}
	if ss.database != cfg.Database {
		err := &pgerr.Error{Severity: "FATAL", Code: pgerr.InvalidDatabase, Message: "database \"" + ss.database + "\" does not exist"}
		ss.w.send(errorResponse(err, 0))
		ss.w.flush()
		return err
	}
	ss.w.send(&pgproto3.AuthenticationOk{})
	return nil
}

// reportedSettings are sent to clients as ParameterStatus, like
// PostgreSQL's GUC_REPORT settings.
var reportedSettings = []string{"application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby",
	"integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version", "session_authorization",
	"standard_conforming_strings", "TimeZone"}

func isReported(name string) (string, bool) {
	for _, r := range reportedSettings {
		if strings.EqualFold(r, name) {
			return r, true
		}
	}
	return "", false
}
