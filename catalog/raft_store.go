package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// ErrNoQuorum is returned by RaftStore.Apply when the change cannot be
// committed: no leader can be reached, or the leader lost its quorum
// before the change committed. The local catalog keeps serving reads.
var ErrNoQuorum = errors.New("catalog: no Raft quorum; catalog changes are unavailable")

// ErrOutcomeUnknown is returned by RaftStore.Apply, together with
// ErrNoQuorum or a context error, when the change was handed to a leader
// but its commit could not be confirmed: it may still be committed later.
var ErrOutcomeUnknown = errors.New("catalog: the change may or may not be committed")

// RaftOptions configure a RaftStore.
type RaftOptions struct {
	// ID is this coordinator's Raft server ID, stable across restarts.
	ID string
	// Dir holds the Raft log (raft.db) and snapshots.
	Dir string
	// RaftAddr is the address to listen on for Raft and for requests from
	// other coordinators; it is also the address others dial, so it must
	// not be a wildcard address. Ignored when Listener is set.
	RaftAddr string
	Listener net.Listener
	// ClientAddr is the coordinator's client address, for the members
	// list.
	ClientAddr string
	// Join is the Raft address of an existing member. A store without
	// Raft state and without Join bootstraps a new single-voter group.
	Join string
	// HeartbeatTimeout and ElectionTimeout default to 500ms.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// SnapshotThreshold and TrailingLogs default to Raft's defaults
	// (8192 and 10240); tests lower them to exercise snapshots.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	Logger            *slog.Logger
}

// RaftStore is a Store replicated by Raft: every coordinator holds one,
// changes go through the leader (a follower forwards them), and each
// replica applies the same commands in the same order.
type RaftStore struct {
	opts        RaftOptions
	incarnation string
	log         *slog.Logger
	fsm         *fsm
	raft        *raft.Raft
	mux         *raftMux
	trans       *raft.NetworkTransport
	bolt        *raftboltdb.BoltStore
	addr        string
	registered  chan struct{}
	started     chan struct{} // closed once raft is set
	inFlight    atomic.Pointer[func(string) bool]
	// backends and cancelDeadlocked answer the deadlock detector of the
	// Raft leader (SetDeadlockHooks).
	backends         atomic.Pointer[func() []BlockBackend]
	cancelDeadlocked atomic.Pointer[func(block, detail string) bool]
	// localRestores counts the snapshots restored from Dir at start-up.
	localRestores int64
	stop          chan struct{}
	done          chan struct{}
}

var _ Store = (*RaftStore)(nil)

// OpenRaft starts a RaftStore: it opens (or creates) the Raft state in
// opts.Dir, bootstraps a new group or joins opts.Join when there is no
// state yet, and registers the coordinator in the catalog in the
// background (Registered is closed once that is committed).
func OpenRaft(ctx context.Context, opts RaftOptions) (_ *RaftStore, err error) {
	if opts.ID == "" {
		return nil, errors.New("catalog: raft server id is empty")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var inc [8]byte
	rand.Read(inc[:])
	st := &RaftStore{
		opts: opts, incarnation: hex.EncodeToString(inc[:]), log: log, fsm: newFSM(),
		registered: make(chan struct{}), started: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			st.shutdown()
		}
	}()
	logPath := filepath.Join(opts.Dir, "raft.db")
	st.bolt, err = raftboltdb.New(raftboltdb.Options{Path: logPath, BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("catalog: Raft log %s is locked: is another coordinator using %s?", logPath, opts.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: opening Raft log %s (damaged?): %w", logPath, err)
	}
	ln := opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", opts.RaftAddr); err != nil {
			return nil, fmt.Errorf("catalog: raft address: %w", err)
		}
	}
	st.addr = ln.Addr().String()
	st.mux = newRaftMux(ln, st.serveRequest, log)
	hlog := newRaftLogger(log)
	st.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: raftStream{st.mux}, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(opts.Dir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("catalog: raft snapshots: %w", err)
	}
	logs, err := raft.NewLogCache(256, st.bolt)
	if err != nil {
		return nil, err
	}
	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(opts.ID)
	cfg.Logger = hlog
	cfg.HeartbeatTimeout = orDuration(opts.HeartbeatTimeout, 500*time.Millisecond)
	cfg.ElectionTimeout = orDuration(opts.ElectionTimeout, 500*time.Millisecond)
	cfg.LeaderLeaseTimeout = min(cfg.HeartbeatTimeout/2, cfg.LeaderLeaseTimeout)
	if opts.SnapshotThreshold > 0 {
		cfg.SnapshotThreshold = opts.SnapshotThreshold
	}
	if opts.TrailingLogs > 0 {
		cfg.TrailingLogs = opts.TrailingLogs
	}
	existing, err := raft.HasExistingState(logs, st.bolt, snaps)
	if err != nil {
		return nil, fmt.Errorf("catalog: raft state: %w", err)
	}
	if !existing && opts.Join == "" {
		boot := raft.Configuration{Servers: []raft.Server{{ID: cfg.LocalID, Address: raft.ServerAddress(st.addr)}}}
		if err := raft.BootstrapCluster(cfg, logs, st.bolt, snaps, st.trans, boot); err != nil {
			return nil, fmt.Errorf("catalog: bootstrap raft: %w", err)
		}
	}
	if st.raft, err = raft.NewRaft(cfg, st.fsm, logs, st.bolt, snaps, st.trans); err != nil {
		return nil, fmt.Errorf("catalog: start raft: %w", err)
	}
	st.localRestores = st.fsm.restores.Load()
	close(st.started)
	go st.watchLeader()
	if !existing && opts.Join != "" {
		if err := st.join(ctx); err != nil {
			return nil, err
		}
	}
	go st.register()
	return st, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ID returns the coordinator's Raft server ID.
func (st *RaftStore) ID() string { return st.opts.ID }

// RaftAddr returns the address other coordinators reach this one at.
func (st *RaftStore) RaftAddr() string { return st.addr }

// Incarnation identifies this run of the coordinator.
func (st *RaftStore) Incarnation() string { return st.incarnation }

// Registered is closed once this coordinator's SetCoordinator entry (with
// its current incarnation) is committed.
func (st *RaftStore) Registered() <-chan struct{} { return st.registered }

// Snapshot returns the current catalog with one atomic load.
func (st *RaftStore) Snapshot() *Snapshot { return st.fsm.current.Load() }

// Restores counts the Raft snapshots this store has restored since it
// started: its own at start-up, and those a leader sent it because it had
// fallen behind the leader's log (InstalledSnapshots).
func (st *RaftStore) Restores() int64 { return st.fsm.restores.Load() }

// InstalledSnapshots counts the snapshots a leader sent this store.
func (st *RaftStore) InstalledSnapshots() int64 { return st.fsm.restores.Load() - st.localRestores }

// IsLeader reports whether this coordinator is the Raft leader.
func (st *RaftStore) IsLeader() bool { return st.raft.State() == raft.Leader }

// Apply commits cmd through the Raft log, forwarding it to the leader when
// this coordinator is a follower, and returns once the local catalog
// includes it. It fails with ErrNoQuorum when no leader can commit it.
func (st *RaftStore) Apply(ctx context.Context, cmd Command) (*Snapshot, error) {
	select {
	case <-st.stop:
		return nil, ErrClosed
	default:
	}
	data, err := EncodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	index, err := st.propose(ctx, data, 0)
	if err != nil {
		// A command the catalog refused was still applied as a log entry
		// (changing nothing); once the local catalog has reached it, a
		// retry decided on a fresh snapshot sees what made it fail.
		if index > 0 && !errors.Is(err, ErrNoQuorum) && !errors.Is(err, ErrOutcomeUnknown) {
			st.waitApplied(ctx, index)
		}
		return nil, err
	}
	if err := st.waitApplied(ctx, index); err != nil {
		return nil, err
	}
	return st.Snapshot(), nil
}

// propose commits data on the leader and returns its log index.
func (st *RaftStore) propose(ctx context.Context, data []byte, hops int) (uint64, error) {
	resp, err := st.viaLeader(ctx, hops, catalogRequest{Op: opApply, Command: data}, func() (catalogResponse, error) {
		index, err := st.applyLocal(ctx, data)
		return catalogResponse{Index: index}, err
	})
	if errors.Is(err, errForward) {
		// The leader may have received it: sending it again could apply
		// it twice.
		return 0, fmt.Errorf("%w: %w: %v", ErrOutcomeUnknown, ErrNoQuorum, err)
	}
	return resp.Index, err
}

// errForward marks a request to the leader that failed after it was sent.
var errForward = errors.New("catalog: forwarding to the raft leader failed")

// viaLeader runs local when this coordinator leads the group, or sends req
// to the leader, waiting (about 40 polls) while there is none.
func (st *RaftStore) viaLeader(ctx context.Context, hops int, req catalogRequest, local func() (catalogResponse, error)) (catalogResponse, error) {
	for attempt := 0; ; attempt++ {
		if st.raft.State() == raft.Leader {
			resp, err := local()
			if !errors.Is(err, raft.ErrNotLeader) {
				return resp, err
			}
		} else if addr, _ := st.raft.LeaderWithID(); addr != "" && hops < 3 {
			req.Hops = hops + 1
			resp, err := st.request(ctx, string(addr), req)
			if err == nil {
				return resp, resp.err()
			}
			if !errors.Is(err, errRetry) {
				return catalogResponse{}, fmt.Errorf("%w: %s: %v", errForward, addr, err)
			}
		}
		if attempt >= 40 {
			return catalogResponse{}, ErrNoQuorum
		}
		select {
		case <-ctx.Done():
			return catalogResponse{}, ctx.Err()
		case <-st.stop:
			return catalogResponse{}, ErrClosed
		case <-time.After(st.leaderPoll()):
		}
	}
}

func (st *RaftStore) leaderPoll() time.Duration {
	return orDuration(st.opts.ElectionTimeout, 500*time.Millisecond) / 5
}

// applyLocal appends data to the log of this leader and waits for it to
// be committed and applied.
func (st *RaftStore) applyLocal(ctx context.Context, data []byte) (uint64, error) {
	f := st.raft.Apply(data, 5*time.Second)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		switch {
		case err == nil:
		case errors.Is(err, raft.ErrNotLeader):
			return 0, err
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return 0, fmt.Errorf("%w (%v)", ErrNoQuorum, err)
		case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrAbortedByRestore):
			return 0, fmt.Errorf("%w: %w (%v)", ErrOutcomeUnknown, ErrNoQuorum, err)
		default:
			return 0, fmt.Errorf("catalog: raft apply: %w", err)
		}
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	}
	if err, ok := f.Response().(error); ok {
		return f.Index(), err
	}
	return f.Index(), nil
}

// waitApplied waits until the local state machine has applied index.
func (st *RaftStore) waitApplied(ctx context.Context, index uint64) error {
	for {
		ch := st.fsm.changed()
		if st.fsm.index.Load() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-st.stop:
			return ErrClosed
		}
	}
}

// join asks an existing member (which forwards to the leader) to add this
// coordinator as a voter, retrying until ctx ends.
func (st *RaftStore) join(ctx context.Context) error {
	for {
		resp, err := st.request(ctx, st.opts.Join, catalogRequest{Op: opJoin, ID: st.opts.ID, Addr: st.addr})
		if err == nil {
			err = resp.err()
		}
		if err == nil {
			return nil
		}
		st.log.Info("catalog: joining the raft group", "via", st.opts.Join, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("catalog: joining the coordinator group through %s: %w", st.opts.Join, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// addVoter adds a member through the leader.
func (st *RaftStore) addVoter(ctx context.Context, id, addr string, hops int) error {
	_, err := st.viaLeader(ctx, hops, catalogRequest{Op: opJoin, ID: id, Addr: addr}, func() (catalogResponse, error) {
		return catalogResponse{}, st.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error()
	})
	return err
}

// RemoveMember removes a coordinator from the Raft group and the catalog.
func (st *RaftStore) RemoveMember(ctx context.Context, id string) error {
	if err := st.removeVoter(ctx, id, 0); err != nil {
		return err
	}
	_, err := st.Apply(ctx, RemoveCoordinator{ID: id})
	if errors.Is(err, ErrNoSuchCoordinator) {
		err = nil
	}
	return err
}

func (st *RaftStore) removeVoter(ctx context.Context, id string, hops int) error {
	_, err := st.viaLeader(ctx, hops, catalogRequest{Op: opRemove, ID: id}, func() (catalogResponse, error) {
		return catalogResponse{}, st.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error()
	})
	return err
}

// register records this coordinator's addresses and incarnation, retrying
// until it is committed or the store closes.
func (st *RaftStore) register() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-st.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	cmd := SetCoordinator{ID: st.opts.ID, RaftAddr: st.addr, ClientAddr: st.opts.ClientAddr, Incarnation: st.incarnation}
	for {
		_, err := st.Apply(ctx, cmd)
		if err == nil {
			close(st.registered)
			return
		}
		if ctx.Err() != nil {
			return
		}
		st.log.Warn("catalog: registering the coordinator", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// watchLeader logs when the group loses and regains its leader, so that an
// operator sees why DDL is refused while queries go on.
func (st *RaftStore) watchLeader() {
	defer close(st.done)
	ch := make(chan raft.Observation, 8)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	st.raft.RegisterObserver(obs)
	defer st.raft.DeregisterObserver(obs)
	for {
		select {
		case <-st.stop:
			return
		case o := <-ch:
			lo := o.Data.(raft.LeaderObservation)
			if lo.LeaderID == "" {
				st.log.Warn("catalog: no Raft leader; DDL is refused and queries use the last catalog", "catalog_version", st.Snapshot().Version())
			} else {
				st.log.Info("catalog: Raft leader", "leader", lo.LeaderID, "address", lo.LeaderAddr)
			}
		}
	}
}

// CompactLog takes a Raft snapshot now and truncates the log behind it.
func (st *RaftStore) CompactLog() error {
	return st.raft.Snapshot().Error()
}

// Close stops Raft and releases the log; Snapshot keeps returning the last
// catalog.
func (st *RaftStore) Close() error {
	return st.shutdown()
}

func (st *RaftStore) shutdown() error {
	select {
	case <-st.stop:
		return nil
	default:
	}
	close(st.stop)
	var first error
	if st.raft != nil {
		first = st.raft.Shutdown().Error()
		<-st.done
	}
	if st.trans != nil {
		st.trans.Close()
	}
	if st.mux != nil {
		st.mux.close()
	}
	if st.bolt != nil {
		if err := st.bolt.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// RaftMember is one voter or non-voter of the group.
type RaftMember struct {
	ID      string
	Address string
	Voter   bool
}

// RaftStatus is this coordinator's view of the Raft group.
type RaftStatus struct {
	ID, State            string
	LeaderID, LeaderAddr string
	Term                 uint64
	CommitIndex          uint64
	AppliedIndex         uint64
	LastLogIndex         uint64
	Members              []RaftMember
	CatalogVersion       uint64
}

// Status reports the group as this coordinator sees it.
func (st *RaftStore) Status() RaftStatus {
	stats := st.raft.Stats()
	num := func(k string) uint64 { n, _ := strconv.ParseUint(stats[k], 10, 64); return n }
	addr, id := st.raft.LeaderWithID()
	s := RaftStatus{
		ID: st.opts.ID, State: st.raft.State().String(), LeaderID: string(id), LeaderAddr: string(addr),
		Term: num("term"), CommitIndex: num("commit_index"), AppliedIndex: num("applied_index"),
		LastLogIndex: num("last_log_index"), CatalogVersion: st.Snapshot().Version(),
	}
	if f := st.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			s.Members = append(s.Members, RaftMember{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
		}
	}
	return s
}

// Sync waits until the local catalog includes every change the leader had
// applied when Sync was called. A coordinator that starts has only its
// last snapshot applied until it hears from the leader; it syncs before
// serving so that it does not answer from an older catalog.
func (st *RaftStore) Sync(ctx context.Context) error {
	for {
		if st.IsLeader() {
			return st.Barrier(5 * time.Second)
		}
		if addr, _ := st.raft.LeaderWithID(); addr != "" {
			resp, err := st.request(ctx, string(addr), catalogRequest{Op: opPing})
			if err == nil {
				return st.waitApplied(ctx, resp.Index)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoQuorum, ctx.Err())
		case <-st.stop:
			return ErrClosed
		case <-time.After(st.leaderPoll()):
		}
	}
}

// Barrier waits until every entry committed before it is applied to the
// local catalog; only the leader can issue one.
func (st *RaftStore) Barrier(timeout time.Duration) error {
	return st.raft.Barrier(timeout).Error()
}
