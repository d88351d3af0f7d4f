package executor

import "github.com/distgres/distgres/catalog"

// PlanNodes returns the nodes an operator's statements may run on (each
// once, in the order met), for the operators a Broadcast's plan is built
// of; nil when op holds one it does not know.
func PlanNodes(op Operator) []catalog.Node {
	var nodes []catalog.Node
	seen := map[catalog.NodeID]bool{}
	add := func(ts []Target) {
		for _, t := range ts {
			if !seen[t.Node.ID] {
				seen[t.Node.ID] = true
				nodes = append(nodes, t.Node)
			}
		}
	}
	known := true
	var visit func(op Operator)
	visit = func(op Operator) {
		switch o := op.(type) {
		case *Gather:
			add(o.Targets)
		case *Route:
			add(o.Targets)
		case *MergeSort:
			visit(o.Input)
		case *Aggregate:
			visit(o.Input)
		case *Convert:
			visit(o.Input)
		case *Limit:
			visit(o.Input)
		case *Project:
			visit(o.Input)
		default:
			known = false
		}
	}
	visit(op)
	if !known {
		return nil
	}
	return nodes
}
