package executor

import (
	"fmt"

	"github.com/distgres/distgres/catalog"
)

// Target is SQL to run on one data node.
type Target struct {
	Node     catalog.Node
	Database string
	// SQL holds one statement, or several run as one implicit transaction
	// on that node (a pipeline of extended-protocol executions).
	SQL []string
}

func (t Target) String() string {
	return fmt.Sprintf("node %s (%s:%d/%s): %v", t.Node.Name, t.Node.Host, t.Node.Port, t.Database, t.SQL)
}
