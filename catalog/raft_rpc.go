package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// Requests one coordinator sends another on the Raft address (stream
// kind streamCatalog): one JSON request, one JSON response.
const (
	opApply  = "apply" // commit Command through the leader
	opJoin   = "join"  // add ID at Addr as a voter
	opRemove = "remove"
	opPing   = "ping" // report the incarnation
	// Asked by the deadlock detector on the Raft leader.
	opBackends         = "backends"          // list the transaction blocks' data node backends
	opCancelDeadlocked = "cancel_deadlocked" // cancel a block chosen as a deadlock victim
)

type catalogRequest struct {
	Op      string `json:"op"`
	Command []byte `json:"command,omitempty"`
	ID      string `json:"id,omitempty"`
	Addr    string `json:"addr,omitempty"`
	Hops    int    `json:"hops,omitempty"`
	Block   string `json:"block,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

type catalogResponse struct {
	Index       uint64 `json:"index,omitempty"`
	Incarnation string `json:"incarnation,omitempty"`
	InFlight    bool   `json:"in_flight,omitempty"`
	Error       string `json:"error,omitempty"`
	// Sentinels are the texts of the package errors the failure wraps, so
	// the requester can still match them with errors.Is.
	Sentinels []string `json:"sentinels,omitempty"`
	// Backends answers opBackends; Canceled answers opCancelDeadlocked.
	Backends []BlockBackend `json:"backends,omitempty"`
	Canceled bool           `json:"canceled,omitempty"`
}

// errRetry marks a transport failure worth retrying quietly.
var errRetry = errors.New("catalog: retry")

// sentinels are the errors preserved across a forwarded request.
var sentinels = []error{
	ErrTableExists, ErrNoSuchTable, ErrNoSuchNode, ErrNodeExists, ErrNoActiveNodes,
	ErrNoSuchShard, ErrNodeInUse, ErrInvalidCommand, ErrClosed, ErrNoSuchCoordinator,
	ErrTxExists, ErrTxDecided, ErrUnknownCommand, ErrNoQuorum, ErrOutcomeUnknown,
	ErrSequenceExists, ErrNoSuchSequence, ErrSequenceMoved, ErrSequenceExhausted,
}

// remoteError is an error that happened on another coordinator.
type remoteError struct {
	msg       string
	sentinels []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.sentinels }

func (r catalogResponse) err() error {
	if r.Error == "" {
		return nil
	}
	e := &remoteError{msg: r.Error}
	for _, s := range sentinels {
		if slices.Contains(r.Sentinels, s.Error()) {
			e.sentinels = append(e.sentinels, s)
		}
	}
	return e
}

func responseFor(err error) catalogResponse {
	if err == nil {
		return catalogResponse{}
	}
	r := catalogResponse{Error: err.Error()}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			r.Sentinels = append(r.Sentinels, s.Error())
		}
	}
	return r
}

// request sends one request to the coordinator at addr.
func (st *RaftStore) request(ctx context.Context, addr string, req catalogRequest) (catalogResponse, error) {
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c, err := dialStream(addr, streamCatalog, time.Until(deadline))
	if err != nil {
		return catalogResponse{}, fmt.Errorf("%w: %v", errRetry, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	c.SetDeadline(deadline)
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return catalogResponse{}, fmt.Errorf("%w: %v", errRetry, err)
	}
	var resp catalogResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return catalogResponse{}, ctx.Err()
		}
		return catalogResponse{}, fmt.Errorf("catalog: request to %s: %w", addr, err)
	}
	return resp, nil
}

// serveRequest answers one request from another coordinator.
func (st *RaftStore) serveRequest(c net.Conn) {
	defer c.Close()
	// Requests can arrive while the store is still starting.
	select {
	case <-st.started:
	case <-st.stop:
		return
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req catalogRequest
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {})
	defer stop()
	go func() {
		select {
		case <-st.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var resp catalogResponse
	switch req.Op {
	case opApply:
		index, err := st.propose(ctx, req.Command, req.Hops)
		resp = responseFor(err)
		resp.Index = index
	case opJoin:
		resp = responseFor(st.addVoter(ctx, req.ID, req.Addr, req.Hops))
	case opRemove:
		resp = responseFor(st.removeVoter(ctx, req.ID, req.Hops))
	case opPing:
		resp.Incarnation = st.incarnation
		resp.Index = st.fsm.index.Load()
		if probe := st.inFlight.Load(); probe != nil && req.ID != "" {
			resp.InFlight = (*probe)(req.ID)
		}
	case opBackends:
		if list := st.backends.Load(); list != nil {
			resp.Backends = (*list)()
		}
	case opCancelDeadlocked:
		if cancel := st.cancelDeadlocked.Load(); cancel != nil && req.Block != "" {
			resp.Canceled = (*cancel)(req.Block, req.Detail)
		}
	default:
		resp = responseFor(fmt.Errorf("catalog: unknown request %q", req.Op))
	}
	json.NewEncoder(c).Encode(resp)
}

// Ping asks the coordinator at raftAddr for its incarnation and whether
// it is still working on the global transaction txID.
func (st *RaftStore) Ping(ctx context.Context, raftAddr, txID string) (incarnation string, inFlight bool, err error) {
	resp, err := st.request(ctx, raftAddr, catalogRequest{Op: opPing, ID: txID})
	if err != nil {
		return "", false, err
	}
	return resp.Incarnation, resp.InFlight, resp.err()
}

// SetInFlight installs the function that answers, for other coordinators'
// recovery, whether this coordinator is still working on a global
// transaction.
func (st *RaftStore) SetInFlight(probe func(txID string) bool) {
	st.inFlight.Store(&probe)
}

// BlockBackend is a data node backend (server process) working for a
// transaction block of some coordinator, as the deadlock detector sees it.
type BlockBackend struct {
	Node NodeID `json:"node"`
	PID  uint32 `json:"pid"`
	// Block identifies the transaction block, unique across coordinators.
	Block string `json:"block"`
	// Started is when the block began; the youngest block of a deadlock
	// is the one cancelled.
	Started time.Time `json:"started"`
}

// SetDeadlockHooks installs the functions that answer the deadlock
// detector of the Raft leader: backends lists the data node backends of
// this coordinator's transaction blocks, cancel cancels a block chosen as
// a deadlock victim and reports whether it had a statement to cancel.
func (st *RaftStore) SetDeadlockHooks(backends func() []BlockBackend, cancel func(block, detail string) bool) {
	st.backends.Store(&backends)
	st.cancelDeadlocked.Store(&cancel)
}

// Backends asks the coordinator at raftAddr for the data node backends of
// its transaction blocks.
func (st *RaftStore) Backends(ctx context.Context, raftAddr string) ([]BlockBackend, error) {
	resp, err := st.request(ctx, raftAddr, catalogRequest{Op: opBackends})
	if err != nil {
		return nil, err
	}
	if err := resp.err(); err != nil {
		return nil, fmt.Errorf("catalog: backends of %s: %w", raftAddr, err)
	}
	return resp.Backends, nil
}

// CancelDeadlocked asks the coordinator at raftAddr to cancel transaction
// block as a deadlock victim, with detail describing the cycle. It
// reports whether the block was found with a statement to cancel.
func (st *RaftStore) CancelDeadlocked(ctx context.Context, raftAddr, block, detail string) (bool, error) {
	resp, err := st.request(ctx, raftAddr, catalogRequest{Op: opCancelDeadlocked, Block: block, Detail: detail})
	if err != nil {
		return false, err
	}
	if err := resp.err(); err != nil {
		return false, fmt.Errorf("catalog: cancelling block %s on %s: %w", block, raftAddr, err)
	}
	return resp.Canceled, nil
}
