package planner

import (
	"math"
	"strconv"
	"strings"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
)

// Serial and identity columns of a distributed table take their values
// from global sequences: the catalog holds one per column, the coordinator
// fills the column in when an INSERT leaves it out, and the shard tables
// get the plain integer type without a default of their own (a shard's own
// sequence would repeat values across shards).

// serialTypes maps the serial pseudo-types to their integer type and
// maximum.
var serialTypes = map[string]struct {
	typ string
	max int64
}{
	"smallserial": {"int2", math.MaxInt16}, "serial2": {"int2", math.MaxInt16},
	"serial": {"int4", math.MaxInt32}, "serial4": {"int4", math.MaxInt32},
	"bigserial": {"int8", math.MaxInt64}, "serial8": {"int8", math.MaxInt64},
}

// columnSequences returns the global sequences of a new table's serial and
// identity columns.
func columnSequences(schema, table string, cols []*pg_query.ColumnDef) []catalog.Command {
	var out []catalog.Command
	for _, cd := range cols {
		typ := typeName(cd.TypeName)
		if st, ok := serialTypes[typ]; ok {
			out = append(out, catalog.CreateSequence{Schema: schema, Name: sequenceName(table, cd.Colname),
				Start: 1, Increment: 1, Min: 1, Max: st.max, OwnerTable: table, OwnerColumn: cd.Colname})
			continue
		}
		for _, c := range cd.Constraints {
			k := c.GetConstraint()
			if k == nil || k.Contype != pg_query.ConstrType_CONSTR_IDENTITY {
				continue
			}
			out = append(out, identitySequence(schema, table, cd.Colname, typ, k))
		}
	}
	return out
}

// identitySequence applies an identity column's sequence options.
func identitySequence(schema, table, col, typ string, k *pg_query.Constraint) catalog.CreateSequence {
	max := int64(math.MaxInt64)
	switch typ {
	case "int2", "smallint":
		max = math.MaxInt16
	case "int4", "int", "integer":
		max = math.MaxInt32
	}
	q := catalog.CreateSequence{Schema: schema, Name: sequenceName(table, col), Increment: 1, Min: 1, Max: max,
		OwnerTable: table, OwnerColumn: col, Always: k.GeneratedWhen == "a"}
	start, hasStart := int64(0), false
	for _, o := range k.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		v, ok := defElemInt(d)
		switch d.Defname {
		case "start":
			start, hasStart = v, ok
		case "increment":
			if ok && v != 0 {
				q.Increment = v
			}
		case "minvalue":
			if ok {
				q.Min = v
			}
		case "maxvalue":
			if ok {
				q.Max = v
			}
		case "sequence_name":
			var parts []string
			for _, it := range d.Arg.GetList().GetItems() {
				parts = append(parts, it.GetString_().GetSval())
			}
			if len(parts) > 0 {
				q.Name = parts[len(parts)-1]
			}
		}
	}
	if q.Increment < 0 && q.Min == 1 && q.Max == max {
		q.Min, q.Max = -max-1, -1
		if max == math.MaxInt64 {
			q.Min = math.MinInt64
		}
	}
	q.Start = q.Min
	if q.Increment < 0 {
		q.Start = q.Max
	}
	if hasStart {
		q.Start = start
	}
	return q
}

func defElemInt(d *pg_query.DefElem) (int64, bool) {
	switch {
	case d.Arg.GetInteger() != nil:
		return int64(d.Arg.GetInteger().Ival), true
	case d.Arg.GetFloat() != nil:
		v, err := strconv.ParseInt(d.Arg.GetFloat().Fval, 10, 64)
		return v, err == nil
	}
	return 0, false
}

// typeName is the last part of a column's type name, lower case.
func typeName(tn *pg_query.TypeName) string {
	if tn == nil || len(tn.Names) == 0 {
		return ""
	}
	return strings.ToLower(tn.Names[len(tn.Names)-1].GetString_().GetSval())
}

// sequenceName is the name PostgreSQL gives the sequence of a serial or
// identity column, <table>_<column>_seq, with the longer part shortened
// until the whole fits in an identifier.
func sequenceName(table, col string) string {
	const suffix = "_seq"
	n1, n2 := len(table), len(col)
	for n1+n2+1+len(suffix) > maxIdentLen {
		if n1 > n2 {
			n1--
		} else {
			n2--
		}
	}
	return table[:n1] + "_" + col[:n2] + suffix
}

// stripSequenceDefaults turns a shard's serial columns into their integer
// type and drops identity, so that only the coordinator makes values.
func stripSequenceDefaults(c *pg_query.CreateStmt) {
	for _, e := range c.TableElts {
		cd := e.GetColumnDef()
		if cd == nil {
			continue
		}
		if st, ok := serialTypes[typeName(cd.TypeName)]; ok {
			cd.TypeName = &pg_query.TypeName{Names: []*pg_query.Node{pg_query.MakeStrNode("pg_catalog"), pg_query.MakeStrNode(st.typ)}, Typemod: -1}
			cd.Constraints = append(cd.Constraints, &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_NOTNULL}}})
		}
		kept := cd.Constraints[:0]
		for _, k := range cd.Constraints {
			if k.GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_IDENTITY {
				// Identity columns are NOT NULL.
				kept = append(kept, &pg_query.Node{Node: &pg_query.Node_Constraint{Constraint: &pg_query.Constraint{Contype: pg_query.ConstrType_CONSTR_NOTNULL}}})
				continue
			}
			kept = append(kept, k)
		}
		cd.Constraints = kept
	}
}

// checkSequenceColumn refuses column definitions whose values would come
// from each shard's own sequence: a default calling nextval() (the
// sequence would be each data node's own), and, when adding a column to
// an existing table, serial and identity columns.
func checkSequenceColumn(cd *pg_query.ColumnDef, adding bool) error {
	if cd == nil {
		return nil
	}
	_, serial := serialTypes[typeName(cd.TypeName)]
	for _, k := range cd.Constraints {
		c := k.GetConstraint()
		switch {
		case c.GetContype() == pg_query.ConstrType_CONSTR_DEFAULT && callsNextval(c.RawExpr):
			return pgerr.Unsupported("Use a serial or identity column; its values come from a global sequence.",
				"column %q: a default calling nextval() would draw from each data node's own sequence", cd.Colname)
		case c.GetContype() == pg_query.ConstrType_CONSTR_IDENTITY:
			serial = true
		}
	}
	if adding && serial {
		return pgerr.Unsupported("Create the table with the serial or identity column.",
			"adding serial or identity column %q to a distributed table is not supported yet", cd.Colname)
	}
	return nil
}

// callsNextval reports whether an expression calls nextval().
func callsNextval(n *pg_query.Node) bool {
	found := false
	walk(n, func(m proto.Message) bool {
		if fc, ok := m.(*pg_query.FuncCall); ok && len(fc.Funcname) > 0 &&
			fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval() == "nextval" {
			found = true
		}
		return !found
	})
	return found
}
