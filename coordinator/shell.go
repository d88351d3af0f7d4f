package coordinator

import (
	"context"

	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
)

// shell implements planner.Shell on the shell database of the first
// active data node, with the session's settings.
type shell struct{ ss *session }

var _ planner.Shell = shell{}

func (s shell) conn(ctx context.Context) (executor.Conn, error) {
	nodes := s.ss.srv.cfg.Catalog.Snapshot().ActiveNodes()
	if len(nodes) == 0 {
		return nil, pgerr.New(pgerr.CannotConnectNow, "no data nodes are available")
	}
	if s.ss.tx != nil {
		// Inside a transaction block the shell sees the block's own
		// (uncommitted) DDL and temporary tables.
		return s.ss.tx.acquire(ctx, nodes[0], s.ss.srv.cfg.ShellDB)
	}
	return s.ss.pooled(ctx, nodes[0], s.ss.srv.cfg.ShellDB)
}

func (s shell) Describe(ctx context.Context, sql string, paramOIDs []uint32) (*planner.Description, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	sd, err := c.PgConn().Prepare(ctx, "", sql, paramOIDs)
	c.Release(err != nil && !isServerErr(err))
	if err != nil {
		return nil, err
	}
	d := &planner.Description{ParamOIDs: sd.ParamOIDs}
	if len(sd.Fields) > 0 {
		d.Columns = make([]executor.Column, len(sd.Fields))
		for i, f := range sd.Fields {
			d.Columns[i] = executor.Column{Name: f.Name, TableOID: f.TableOID, TableAttr: f.TableAttributeNumber,
				TypeOID: f.DataTypeOID, TypeSize: f.DataTypeSize, TypeModifier: f.TypeModifier}
		}
	}
	return d, nil
}

func (s shell) QueryValue(ctx context.Context, sql string) (string, bool, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return "", false, err
	}
	res := c.PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	c.Release(res.Err != nil && !isServerErr(res.Err))
	if res.Err != nil {
		return "", false, res.Err
	}
	if len(res.Rows) == 0 || res.Rows[0][0] == nil {
		return "", false, nil
	}
	return string(res.Rows[0][0]), true, nil
}

func isServerErr(err error) bool {
	return pgerr.Code(err) != "" && pgerr.Code(err) != pgerr.QueryCanceled
}
