package coordinator

import (
	"context"
	"errors"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/executor"
	"github.com/distgres/distgres/gtm"
	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/planner"
)

// runDDL applies a DDL plan. With a transaction manager, the data node work
// and the catalog change commit together (see package gtm for the order of
// the steps and how a crash between them is recovered); work that cannot
// run in a transaction block, and a coordinator without a manager, apply
// the catalog first or last as the plan says, with compensation when the
// data nodes fail.
func (ss *session) runDDL(ctx context.Context, d *planner.DDL) (string, error) {
	if ss.tx != nil && ss.tx.implicit && (len(d.Before) > 0 || len(d.After) > 0) {
		// Catalog changes cannot join an implicit transaction: what ran
		// before commits, and the statements after start a new one.
		if err := ss.endImplicit(ctx, true); err != nil {
			return "", err
		}
		defer ss.beginImplicit()
	}
	if ss.tx != nil && (len(d.Before) > 0 || len(d.After) > 0) {
		return "", pgerr.Unsupported("Run DDL on distributed tables outside a transaction block.", "DDL on distributed tables inside a transaction block is not supported yet")
	}
	srv := ss.srv
	srv.ddlMu.Lock()
	defer srv.ddlMu.Unlock()
	if err := checkNoMoves(srv.cfg.Catalog.Snapshot(), d, srv.cfg.ShardDB); err != nil {
		return "", err
	}
	if srv.cfg.GTM != nil && !d.NoTransaction && ss.tx == nil {
		tag, err := ss.runAtomicDDL(ctx, d)
		return tag, catalogError(err)
	}
	store := srv.cfg.Catalog
	snap := store.Snapshot()
	var err error
	for _, c := range d.Before {
		if snap, err = store.Apply(ctx, c); err != nil {
			return "", catalogError(err)
		}
	}
	tag := d.Tag
	if d.Work != nil {
		targets, err := d.Work(snap)
		if err == nil {
			var t string
			t, err = executor.RunStatements(ctx, sessionConns{ss}, targets)
			if tag == "" {
				tag = t
			}
		}
		if err != nil {
			if d.Undo != nil {
				executor.RunStatements(context.WithoutCancel(ctx), sessionConns{ss}, d.Undo(snap))
			}
			if d.Revert != nil {
				store.Apply(context.WithoutCancel(ctx), d.Revert)
			}
			return "", err
		}
	}
	for _, c := range d.After {
		if _, err := store.Apply(ctx, c); err != nil {
			return "", catalogError(err)
		}
	}
	return tag, nil
}

// runAtomicDDL runs a DDL plan as one global transaction.
func (ss *session) runAtomicDDL(ctx context.Context, d *planner.DDL) (string, error) {
	acquire := func(ctx context.Context, n catalog.Node, db string) (gtm.Conn, error) {
		return ss.pooled(ctx, n, db)
	}
	g := gtm.DDL{Before: d.Before, OnCommit: d.After, OnAbort: d.Revert}
	if d.Work != nil {
		g.Work = func(snap *catalog.Snapshot) ([]gtm.Work, error) {
			targets, err := d.Work(snap)
			work := make([]gtm.Work, len(targets))
			for i, t := range targets {
				work[i] = gtm.Work{Node: t.Node, Database: t.Database, SQL: t.SQL}
			}
			return work, err
		}
	} else {
		g.Work = func(*catalog.Snapshot) ([]gtm.Work, error) { return nil, nil }
	}
	tag, err := ss.srv.cfg.GTM.RunDDL(ctx, acquire, g)
	if d.Tag != "" {
		tag = d.Tag
	}
	return tag, err
}

// catalogError gives catalog and transaction manager failures a SQLSTATE.
func catalogError(err error) error {
	switch {
	case err == nil:
		return nil
	case pgerr.Code(err) != "":
		return err
	case errors.Is(err, gtm.ErrOutcomeUnknown):
		return &pgerr.Error{Code: pgerr.TransactionResolutionUnknown, Message: err.Error(),
			Hint: "The statement was prepared on every data node; transaction recovery commits or rolls it back once the coordinators have a quorum again.", Err: err}
	case errors.Is(err, catalog.ErrNoQuorum):
		return &pgerr.Error{Code: pgerr.CannotConnectNow, Message: "cannot change the catalog: no quorum of coordinators is reachable",
			Detail: "Queries keep using this coordinator's last catalog; DDL and node changes need a Raft quorum.", Err: err}
	}
	return &pgerr.Error{Code: pgerr.InternalError, Message: "catalog: " + err.Error(), Err: err}
}
