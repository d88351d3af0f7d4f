package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TxState is the state of a global transaction in the decision log.
type TxState string

const (
	// TxPending: participants may be preparing; nothing is decided. A
	// pending transaction whose coordinator died is aborted by recovery.
	TxPending TxState = "pending"
	// TxCommitted: the commit decision is durable; every participant's
	// prepared transaction must be committed.
	TxCommitted TxState = "committed"
	// TxAborted: every participant's prepared transaction must be rolled
	// back.
	TxAborted TxState = "aborted"
)

// Participant is one data node database taking part in a global
// transaction.
type Participant struct {
	Node     NodeID `json:"node"`
	Database string `json:"database"`
}

// GlobalTx is a transaction that spans data nodes and commits with
// two-phase commit. Its record is the decision log entry: participants
// prepare under PreparedName, the decision is recorded here through the
// log, and the record is forgotten once every participant has finished.
type GlobalTx struct {
	// ID is a lowercase hex string, unique in the cluster.
	ID          string `json:"id"`
	Coordinator string `json:"coordinator"`
	Incarnation string `json:"incarnation"`
	// StartedMillis is the proposer's wall clock (Unix milliseconds).
	StartedMillis int64         `json:"started_millis"`
	State         TxState       `json:"state"`
	Participants  []Participant `json:"participants"`
	// OnCommit and OnAbort are encoded catalog commands applied, in the
	// same log entry, when the decision is recorded: a DDL statement's
	// catalog change commits or reverts with its data node work.
	OnCommit []json.RawMessage `json:"on_commit,omitempty"`
	OnAbort  []json.RawMessage `json:"on_abort,omitempty"`
}

// PreparedPrefix starts the name of every prepared transaction distgres
// creates on a data node.
const PreparedPrefix = "distgres_"

// PreparedName is the PREPARE TRANSACTION name of participant p of the
// global transaction id: distgres_<id>_<node>_<database>.
func PreparedName(id string, p Participant) string {
	return PreparedPrefix + id + "_" + strconv.Itoa(int(p.Node)) + "_" + p.Database
}

// ParsePreparedName returns the global transaction ID and participant of a
// prepared transaction name made by PreparedName, or false for other
// names.
func ParsePreparedName(gid string) (string, Participant, bool) {
	rest, ok := strings.CutPrefix(gid, PreparedPrefix)
	if !ok {
		return "", Participant{}, false
	}
	id, rest, ok := strings.Cut(rest, "_")
	if !ok || !validTxID(id) {
		return "", Participant{}, false
	}
	node, db, ok := strings.Cut(rest, "_")
	n, err := strconv.Atoi(node)
	if !ok || err != nil || db == "" {
		return "", Participant{}, false
	}
	return id, Participant{Node: NodeID(n), Database: db}, true
}

// IncarnationLen is the length of a coordinator incarnation, which starts
// every global transaction ID the coordinator makes.
const IncarnationLen = 16

// TxIncarnation returns the incarnation of the coordinator that made the
// global transaction ID, or "" for an ID too short to carry one.
func TxIncarnation(id string) string {
	if len(id) <= IncarnationLen {
		return ""
	}
	return id[:IncarnationLen]
}

func validTxID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// BeginTx records a pending global transaction and applies Before (encoded
// catalog commands) in the same log entry.
type BeginTx struct {
	Tx     GlobalTx          `json:"tx"`
	Before []json.RawMessage `json:"before,omitempty"`
}

// DecideTx records the outcome of a global transaction and applies its
// OnCommit or OnAbort commands. Deciding a transaction that has no record
// creates one: a commit names its participants; an abort (recovery's
// presumed abort) leaves a record so that a late commit decision for the
// same transaction fails. Repeating the decision is a no-op,
// contradicting it is ErrTxDecided.
type DecideTx struct {
	ID           string        `json:"id"`
	Commit       bool          `json:"commit"`
	Participants []Participant `json:"participants,omitempty"`
}

// ForgetTx removes decided transactions once every participant has
// finished (many in one entry, so that finished commits share a log
// write). Forgetting an unknown transaction is a no-op.
type ForgetTx struct {
	IDs []string `json:"ids"`
}

const (
	KindBeginTx  = "begin_tx"
	KindDecideTx = "decide_tx"
	KindForgetTx = "forget_tx"
)

func (BeginTx) Kind() string  { return KindBeginTx }
func (BeginTx) Version() int  { return 1 }
func (DecideTx) Kind() string { return KindDecideTx }
func (DecideTx) Version() int { return 1 }
func (ForgetTx) Kind() string { return KindForgetTx }
func (ForgetTx) Version() int { return 1 }

func (c BeginTx) validate() error {
	if !validTxID(c.Tx.ID) {
		return invalidf("global transaction id %q is not lowercase hex", c.Tx.ID)
	}
	for _, raw := range slices.Concat(c.Before, c.Tx.OnCommit, c.Tx.OnAbort) {
		inner, err := DecodeCommand(raw)
		if err != nil {
			return invalidf("transaction %s: %v", c.Tx.ID, err)
		}
		if _, nested := inner.(BeginTx); nested {
			return invalidf("transaction %s: nested transaction command", c.Tx.ID)
		}
	}
	return nil
}

func (c DecideTx) validate() error {
	if !validTxID(c.ID) {
		return invalidf("global transaction id %q is not lowercase hex", c.ID)
	}
	return nil
}

func (c ForgetTx) validate() error {
	if len(c.IDs) == 0 {
		return invalidf("no global transaction to forget")
	}
	for _, id := range c.IDs {
		if !validTxID(id) {
			return invalidf("global transaction id %q is not lowercase hex", id)
		}
	}
	return nil
}

// EncodeCommands encodes commands for BeginTx's Before and a GlobalTx's
// OnCommit and OnAbort.
func EncodeCommands(cmds ...Command) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, c := range cmds {
		if c == nil {
			continue
		}
		b, err := EncodeCommand(c)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// GlobalTxs returns the recorded global transactions, sorted by ID.
func (s *Snapshot) GlobalTxs() []GlobalTx {
	return slices.Clone(s.txs)
}

// GlobalTx returns the record of one global transaction.
func (s *Snapshot) GlobalTx(id string) (GlobalTx, bool) {
	i, ok := s.txIndex(id)
	if !ok {
		return GlobalTx{}, false
	}
	return s.txs[i], true
}

func (s *Snapshot) txIndex(id string) (int, bool) {
	return slices.BinarySearchFunc(s.txs, id, func(t GlobalTx, id string) int { return cmp.Compare(t.ID, id) })
}

func (s *Snapshot) applyEncoded(cmds []json.RawMessage) error {
	for _, raw := range cmds {
		c, err := DecodeCommand(raw)
		if err != nil {
			return err
		}
		if err := c.validate(); err != nil {
			return err
		}
		if err := s.apply(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Snapshot) beginTx(c BeginTx) error {
	i, exists := s.txIndex(c.Tx.ID)
	if exists {
		return fmt.Errorf("transaction %s: %w", c.Tx.ID, ErrTxExists)
	}
	if err := s.applyEncoded(c.Before); err != nil {
		return err
	}
	tx := c.Tx
	tx.State = TxPending
	s.txs = slices.Insert(slices.Clone(s.txs), i, tx)
	return nil
}

func (s *Snapshot) decideTx(c DecideTx) error {
	want := TxAborted
	if c.Commit {
		want = TxCommitted
	}
	i, exists := s.txIndex(c.ID)
	if !exists {
		s.txs = slices.Insert(slices.Clone(s.txs), i, GlobalTx{ID: c.ID, State: want, Participants: c.Participants, Incarnation: TxIncarnation(c.ID)})
		return nil
	}
	tx := s.txs[i]
	switch tx.State {
	case want:
		return nil
	case TxPending:
	default:
		return fmt.Errorf("transaction %s is already %s: %w", c.ID, tx.State, ErrTxDecided)
	}
	run := tx.OnAbort
	if c.Commit {
		run = tx.OnCommit
	}
	if err := s.applyEncoded(run); err != nil {
		return err
	}
	tx.State = want
	s.txs = slices.Clone(s.txs)
	s.txs[i] = tx
	return nil
}

func (s *Snapshot) forgetTx(c ForgetTx) error {
	s.txs = slices.Clone(s.txs)
	for _, id := range c.IDs {
		if i, ok := s.txIndex(id); ok {
			s.txs = slices.Delete(s.txs, i, i+1)
		}
	}
	return nil
}
