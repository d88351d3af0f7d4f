package executor

// The coordinator compares text byte by byte, which is the order of the C
// collation only. ComparesText finds the steps of a plan that order text
// (merges, sorted groups, min and max, ordered list aggregates, HAVING
// comparisons other than equality): a planner must not use them for text
// of another collation.

// collatable says whether values of a type carry a collation that the
// coordinator's comparisons would have to follow.
func collatable(typeOID uint32) bool {
	switch typeOID {
	case 25, 1042, 1043: // text, bpchar, varchar
		return true
	}
	return false
}

// ComparesText reports whether op, or an operator below it, orders text.
func ComparesText(op Operator) bool {
	found := false
	var visit func(d Description)
	visit = func(d Description) {
		for o := d.Op; o != nil && !found; {
			found = ordersText(o)
			c, ok := o.(*Convert)
			if !ok {
				break
			}
			o = c.Input
		}
		for _, in := range d.Inputs {
			visit(in)
		}
	}
	visit(Describe(op))
	return found
}

func ordersText(op Operator) bool {
	switch o := op.(type) {
	case *MergeSort:
		return keysOrderText(o.Keys)
	case *Aggregate:
		if keysOrderText(o.Sort) || havingOrdersText(o.Having) {
			return true
		}
		for _, ag := range o.Aggs {
			if (ag.Kind == AggMin || ag.Kind == AggMax) && collatable(ag.Type) {
				return true
			}
			if ag.List != nil && keysOrderText(ag.List.Keys) {
				return true
			}
		}
	}
	return false
}

func keysOrderText(keys []SortKey) bool {
	for _, k := range keys {
		if collatable(k.TypeOID) {
			return true
		}
	}
	return false
}

func havingOrdersText(h Having) bool {
	switch c := h.(type) {
	case HavingAnd:
		for _, x := range c {
			if havingOrdersText(x) {
				return true
			}
		}
	case HavingOr:
		for _, x := range c {
			if havingOrdersText(x) {
				return true
			}
		}
	case HavingNot:
		return havingOrdersText(c.Arg)
	case HavingCompare:
		return c.Op != "=" && c.Op != "<>" && c.Op != "!=" && collatable(c.Type)
	}
	return false
}
