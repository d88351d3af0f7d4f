package catalog

// Command is one change to the catalog. Commands are plain values; they are
// applied with ApplyCommand and serialized with EncodeCommand, which is the
// form a replicated log stores.
//
// The set of commands is closed: only the types in this package implement
// Command. Changing a command's fields means a new Version, so that a log
// written by an older coordinator is still read correctly or rejected.
type Command interface {
	// Kind names the command in its encoded form.
	Kind() string
	// Version is the version of the command's encoded body.
	Version() int

	validate() error
}

// Command kinds, as they appear in the encoded envelope.
const (
	KindAddNode      = "add_node"
	KindRemoveNode   = "remove_node"
	KindSetNodeState = "set_node_state"
	KindCreateTable  = "create_table"
	KindDropTable    = "drop_table"
	KindRenameTable  = "rename_table"
	KindRenameColumn = "rename_column"
	KindSetPlacement = "set_placement"
	KindUpdateNode   = "update_node"
)

// AddNode registers an active data node. The catalog assigns its NodeID.
type AddNode struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

// RemoveNode unregisters a data node that holds no shard placements.
type RemoveNode struct {
	Name string `json:"name"`
}

// SetNodeState changes whether a node receives new placements.
type SetNodeState struct {
	Name  string    `json:"name"`
	State NodeState `json:"state"`
}

// CreateTable distributes a table and creates its shards and placements.
type CreateTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Method Method `json:"method"`
	// DistColumn and DistType (a PostgreSQL type OID) are required for hash
	// and modulo tables and must be empty for the others.
	DistColumn string `json:"dist_column,omitempty"`
	DistType   uint32 `json:"dist_type,omitempty"`
	// ShardCount is the number of shards of a hash, modulo or roundrobin
	// table; 0 means DefaultShardCount, or the shard count of ColocateWith.
	ShardCount int `json:"shard_count,omitempty"`
	// ColocateWith optionally names an existing table, as "schema.table"
	// or as "table" in Schema, to colocate the new table with.
	ColocateWith string `json:"colocate_with,omitempty"`
}

// DropTable removes a table and its shards from the catalog.
type DropTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// RenameTable renames a table within its schema.
type RenameTable struct {
	Schema  string `json:"schema"`
	Name    string `json:"name"`
	NewName string `json:"new_name"`
}

// RenameColumn records a column rename; only the distribution column is
// tracked, so renaming another column changes nothing but the version.
type RenameColumn struct {
	Schema  string `json:"schema"`
	Table   string `json:"table"`
	Column  string `json:"column"`
	NewName string `json:"new_name"`
}

// SetPlacement replaces the nodes holding a shard, e.g. after a shard move.
// It changes that one shard only; moving a colocated group takes one
// SetPlacement per member.
type SetPlacement struct {
	ShardID int64    `json:"shard_id"`
	Nodes   []NodeID `json:"nodes"`
}

func (AddNode) Kind() string      { return KindAddNode }
func (RemoveNode) Kind() string   { return KindRemoveNode }
func (SetNodeState) Kind() string { return KindSetNodeState }
func (CreateTable) Kind() string  { return KindCreateTable }
func (DropTable) Kind() string    { return KindDropTable }
func (RenameTable) Kind() string  { return KindRenameTable }
func (RenameColumn) Kind() string { return KindRenameColumn }
func (SetPlacement) Kind() string { return KindSetPlacement }

func (AddNode) Version() int      { return 1 }
func (RemoveNode) Version() int   { return 1 }
func (SetNodeState) Version() int { return 1 }
func (CreateTable) Version() int  { return 1 }
func (DropTable) Version() int    { return 1 }
func (RenameTable) Version() int  { return 1 }
func (RenameColumn) Version() int { return 1 }
func (SetPlacement) Version() int { return 1 }

// UpdateNode changes the address of a node, e.g. when a local cluster's
// data node restarts on another port.
type UpdateNode struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

func (UpdateNode) Kind() string { return KindUpdateNode }
func (UpdateNode) Version() int { return 1 }
func (c UpdateNode) validate() error {
	return AddNode(c).validate()
}

// newCommand returns a pointer to a zero command of kind, for decoding.
func newCommand(kind string) (Command, bool) {
	switch kind {
	case KindAddNode:
		return &AddNode{}, true
	case KindRemoveNode:
		return &RemoveNode{}, true
	case KindSetNodeState:
		return &SetNodeState{}, true
	case KindCreateTable:
		return &CreateTable{}, true
	case KindDropTable:
		return &DropTable{}, true
	case KindRenameTable:
		return &RenameTable{}, true
	case KindRenameColumn:
		return &RenameColumn{}, true
	case KindSetPlacement:
		return &SetPlacement{}, true
	case KindUpdateNode:
		return &UpdateNode{}, true
	case KindSetCoordinator:
		return &SetCoordinator{}, true
	case KindRemoveCoordinator:
		return &RemoveCoordinator{}, true
	case KindBeginTx:
		return &BeginTx{}, true
	case KindDecideTx:
		return &DecideTx{}, true
	case KindForgetTx:
		return &ForgetTx{}, true
	case KindCreateSequence:
		return &CreateSequence{}, true
	case KindDropSequence:
		return &DropSequence{}, true
	case KindAllocateSequence:
		return &AllocateSequence{}, true
	case KindSetSequence:
		return &SetSequence{}, true
	case KindBeginMove:
		return &BeginMove{}, true
	case KindReplicateTable:
		return &ReplicateTable{}, true
	case KindFreezeMove:
		return &FreezeMove{}, true
	case KindFinishMove:
		return &FinishMove{}, true
	case KindForgetMove:
		return &ForgetMove{}, true
	}
	return nil, false
}

// commandValue returns cmd as a value, dereferencing a pointer to a command,
// or false for nil and for unknown implementations.
func commandValue(cmd Command) (Command, bool) {
	switch c := cmd.(type) {
	case AddNode, RemoveNode, SetNodeState, CreateTable, DropTable,
		RenameTable, RenameColumn, SetPlacement, UpdateNode,
		SetCoordinator, RemoveCoordinator, BeginTx, DecideTx, ForgetTx,
		CreateSequence, DropSequence, AllocateSequence, SetSequence,
		BeginMove, FreezeMove, FinishMove, ForgetMove, ReplicateTable:
		return c, true
	case *ReplicateTable:
		return derefCommand(c)
	case *BeginMove:
		return derefCommand(c)
	case *FreezeMove:
		return derefCommand(c)
	case *FinishMove:
		return derefCommand(c)
	case *ForgetMove:
		return derefCommand(c)
	case *CreateSequence:
		return derefCommand(c)
	case *DropSequence:
		return derefCommand(c)
	case *AllocateSequence:
		return derefCommand(c)
	case *SetSequence:
		return derefCommand(c)
	case *SetCoordinator:
		return derefCommand(c)
	case *RemoveCoordinator:
		return derefCommand(c)
	case *BeginTx:
		return derefCommand(c)
	case *DecideTx:
		return derefCommand(c)
	case *ForgetTx:
		return derefCommand(c)
	case *UpdateNode:
		return derefCommand(c)
	case *AddNode:
		return derefCommand(c)
	case *RemoveNode:
		return derefCommand(c)
	case *SetNodeState:
		return derefCommand(c)
	case *CreateTable:
		return derefCommand(c)
	case *DropTable:
		return derefCommand(c)
	case *RenameTable:
		return derefCommand(c)
	case *RenameColumn:
		return derefCommand(c)
	case *SetPlacement:
		return derefCommand(c)
	}
	return nil, false
}

func derefCommand[T Command](p *T) (Command, bool) {
	if p == nil {
		return nil, false
	}
	return *p, true
}
