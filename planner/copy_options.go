package planner

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/distgres/distgres/pgerr"
	"github.com/distgres/distgres/sqlquote"
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// copyOptionSet is a COPY statement's options, read and checked as
// PostgreSQL 15 reads and checks them.
type copyOptionSet struct {
	opts CopyOptions
	// The FORCE_* column lists as given (FORCE_QUOTE * sets
	// forceQuoteAll).
	forceQuoteAll                       bool
	forceQuote, forceNotNull, forceNull []string
	// The options the data nodes' COPY statements get too, as given (nil:
	// not given). HEADER is not passed on (the coordinator reads and
	// writes header lines), nor FREEZE, an optimisation the shards do
	// without.
	format, delimiter, null, quote, escape, encoding *string
}

// copyOptions reads a COPY statement's options; sql is the statement's
// text, for error positions. from is COPY FROM.
func copyOptions(sql string, list []*pg_query.Node, from bool) (*copyOptionSet, error) {
	s := &copyOptionSet{}
	seen := map[string]bool{}
	for _, n := range list {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		if seen[d.Defname] {
			return nil, atLocation(pgerr.New(pgerr.SyntaxError, "conflicting or redundant options"), sql, d.Location)
		}
		seen[d.Defname] = true
		if err := s.read(sql, d, from); err != nil {
			return nil, err
		}
	}
	if err := s.check(from); err != nil {
		return nil, err
	}
	return s, nil
}

// read takes one option.
func (s *copyOptionSet) read(sql string, d *pg_query.DefElem, from bool) error {
	var err error
	switch d.Defname {
	case "format":
		var f string
		if f, err = defString(d); err != nil {
			return err
		}
		switch CopyFormat(f) {
		case CopyText, CopyCSV, CopyBinary:
			s.format = &f
		default:
			return atLocation(pgerr.New(pgerr.InvalidParameterValue, "COPY format \"%s\" not recognized", f), sql, d.Location)
		}
	case "freeze":
		_, err = defBoolean(d)
	case "delimiter":
		s.delimiter, err = defStringPtr(d)
	case "null":
		s.null, err = defStringPtr(d)
	case "header":
		s.opts.Header, err = defHeader(d, from)
	case "quote":
		s.quote, err = defStringPtr(d)
	case "escape":
		s.escape, err = defStringPtr(d)
	case "encoding":
		// The data nodes check the name, as the shell's dry run does
		// before any data moves.
		s.encoding, err = defStringPtr(d)
	case "force_quote":
		if d.Arg.GetAStar() != nil {
			s.forceQuoteAll = true
			return nil
		}
		s.forceQuote, err = columnList(sql, d)
	case "force_not_null":
		s.forceNotNull, err = columnList(sql, d)
	case "force_null":
		s.forceNull, err = columnList(sql, d)
	case "convert_selectively":
		// Meant for file_fdw: it would leave unlisted columns NULL on the
		// shards while the coordinator routes by their input.
		return pgerr.Unsupported("Load without it.", "COPY option CONVERT_SELECTIVELY is not supported")
	default:
		return atLocation(pgerr.New(pgerr.SyntaxError, "option \"%s\" not recognized", d.Defname), sql, d.Location)
	}
	return err
}

// check applies the defaults and PostgreSQL's checks of the options
// together, in PostgreSQL's order.
func (s *copyOptionSet) check(from bool) error {
	o := &s.opts
	o.Format = CopyText
	if s.format != nil {
		o.Format = CopyFormat(*s.format)
	}
	binary, csv := o.Format == CopyBinary, o.Format == CopyCSV
	switch {
	case binary && s.delimiter != nil:
		return pgerr.New(pgerr.SyntaxError, "cannot specify DELIMITER in BINARY mode")
	case binary && s.null != nil:
		return pgerr.New(pgerr.SyntaxError, "cannot specify NULL in BINARY mode")
	}
	delim, null, quote := "\t", `\N`, ""
	if csv {
		delim, null, quote = ",", "", `"`
	}
	pick(&delim, s.delimiter)
	pick(&null, s.null)
	pick(&quote, s.quote)
	escape := quote // CSV's escape is the quote unless given
	pick(&escape, s.escape)
	forceQuote := s.forceQuoteAll || s.forceQuote != nil
	unsupported := func(msg string) error { return pgerr.New(pgerr.FeatureNotSupported, "%s", msg) }
	invalid := func(msg string) error { return pgerr.New(pgerr.InvalidParameterValue, "%s", msg) }
	switch {
	case len(delim) != 1:
		return unsupported("COPY delimiter must be a single one-byte character")
	case delim == "\n" || delim == "\r":
		return invalid("COPY delimiter cannot be newline or carriage return")
	case strings.ContainsAny(null, "\r\n"):
		return invalid("COPY null representation cannot use newline or carriage return")
	case !csv && strings.Contains(`\.abcdefghijklmnopqrstuvwxyz0123456789`, delim):
		return pgerr.New(pgerr.InvalidParameterValue, "COPY delimiter cannot be \"%s\"", delim)
	case binary && o.Header:
		return unsupported("cannot specify HEADER in BINARY mode")
	case !csv && s.quote != nil:
		return unsupported("COPY quote available only in CSV mode")
	case csv && len(quote) != 1:
		return unsupported("COPY quote must be a single one-byte character")
	case csv && delim == quote:
		return invalid("COPY delimiter and quote must be different")
	case !csv && s.escape != nil:
		return unsupported("COPY escape available only in CSV mode")
	case csv && len(escape) != 1:
		return unsupported("COPY escape must be a single one-byte character")
	case !csv && forceQuote:
		return unsupported("COPY force quote available only in CSV mode")
	case from && forceQuote:
		return unsupported("COPY force quote only available using COPY TO")
	case !csv && s.forceNotNull != nil:
		return unsupported("COPY force not null available only in CSV mode")
	case !from && s.forceNotNull != nil:
		return unsupported("COPY force not null only available using COPY FROM")
	case !csv && s.forceNull != nil:
		return unsupported("COPY force null available only in CSV mode")
	case !from && s.forceNull != nil:
		return unsupported("COPY force null only available using COPY FROM")
	case strings.Contains(null, delim):
		return unsupported("COPY delimiter must not appear in the NULL specification")
	case csv && strings.Contains(null, quote):
		return unsupported("CSV quote character must not appear in the NULL specification")
	}
	o.Delimiter, o.Null = delim[0], null
	if csv {
		o.Quote, o.Escape = quote[0], escape[0]
	}
	return nil
}

func pick(dst *string, given *string) {
	if given != nil {
		*dst = *given
	}
}

// shardOptions renders the options the data nodes' COPY statements get.
func (s *copyOptionSet) shardOptions() string {
	var opts []string
	add := func(name string, v *string) {
		if v != nil {
			opts = append(opts, name+" "+sqlquote.Literal(*v))
		}
	}
	if s.format != nil {
		opts = append(opts, "FORMAT "+*s.format)
	}
	add("DELIMITER", s.delimiter)
	add("NULL", s.null)
	add("QUOTE", s.quote)
	add("ESCAPE", s.escape)
	add("ENCODING", s.encoding)
	if s.forceQuoteAll {
		opts = append(opts, "FORCE_QUOTE *")
	}
	for _, f := range []struct {
		name string
		cols []string
	}{{"FORCE_QUOTE", s.forceQuote}, {"FORCE_NOT_NULL", s.forceNotNull}, {"FORCE_NULL", s.forceNull}} {
		if f.cols != nil {
			opts = append(opts, f.name+" ("+quotedList(f.cols)+")")
		}
	}
	if len(opts) == 0 {
		return ""
	}
	return " (" + strings.Join(opts, ", ") + ")"
}

// atLocation sets PostgreSQL's error position (1-based, in characters)
// from a node's location (a byte offset in sql).
func atLocation(e *pgerr.Error, sql string, loc int32) *pgerr.Error {
	if loc >= 0 && int(loc) <= len(sql) {
		e.Position = int32(utf8.RuneCountInString(sql[:loc])) + 1
	}
	return e
}

// defString is an option's argument as text, as PostgreSQL's defGetString
// renders it.
func defString(d *pg_query.DefElem) (string, error) {
	if d.Arg == nil {
		return "", pgerr.New(pgerr.SyntaxError, "%s requires a parameter", d.Defname)
	}
	switch a := d.Arg.Node.(type) {
	case *pg_query.Node_Integer:
		return strconv.Itoa(int(a.Integer.Ival)), nil
	case *pg_query.Node_Float:
		return a.Float.Fval, nil
	case *pg_query.Node_Boolean:
		return strconv.FormatBool(a.Boolean.Boolval), nil
	case *pg_query.Node_String_:
		return a.String_.Sval, nil
	case *pg_query.Node_AStar:
		return "*", nil
	case *pg_query.Node_List:
		// A qualified name: its parts joined by dots.
		parts := make([]string, len(a.List.Items))
		for i, item := range a.List.Items {
			if item.GetAStar() != nil {
				parts[i] = "*"
			} else {
				parts[i] = item.GetString_().GetSval()
			}
		}
		return strings.Join(parts, "."), nil
	}
	return "", pgerr.New(pgerr.SyntaxError, "%s requires a parameter", d.Defname)
}

func defStringPtr(d *pg_query.DefElem) (*string, error) {
	s, err := defString(d)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// defBoolean reads a Boolean option as PostgreSQL's defGetBoolean does: no
// argument is true; 0, 1, true, false, on and off are accepted.
func defBoolean(d *pg_query.DefElem) (bool, error) {
	if d.Arg == nil {
		return true, nil
	}
	if i := d.Arg.GetInteger(); i != nil {
		if i.Ival == 0 || i.Ival == 1 {
			return i.Ival == 1, nil
		}
	} else if s, err := defString(d); err == nil {
		if b, ok := onOff(s); ok {
			return b, nil
		}
	}
	return false, pgerr.New(pgerr.SyntaxError, "%s requires a Boolean value", d.Defname)
}

// defHeader reads HEADER: a Boolean, or MATCH (COPY FROM only), which the
// coordinator takes as true: it skips the header line.
func defHeader(d *pg_query.DefElem, from bool) (bool, error) {
	if d.Arg != nil && d.Arg.GetInteger() == nil {
		if s, err := defString(d); err == nil && strings.EqualFold(s, "match") {
			if !from {
				return false, pgerr.New(pgerr.FeatureNotSupported, "cannot use \"%s\" with HEADER in COPY TO", s)
			}
			return true, nil
		}
	}
	b, err := defBoolean(d)
	if err != nil {
		return false, pgerr.New(pgerr.SyntaxError, "%s requires a Boolean value or \"match\"", d.Defname)
	}
	return b, nil
}

func onOff(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "on":
		return true, true
	case "false", "off":
		return false, true
	}
	return false, false
}

// columnList reads the column list of a FORCE_* option.
func columnList(sql string, d *pg_query.DefElem) ([]string, error) {
	l := d.Arg.GetList()
	if l == nil {
		return nil, atLocation(pgerr.New(pgerr.InvalidParameterValue, "argument to option \"%s\" must be a list of column names", d.Defname), sql, d.Location)
	}
	names := make([]string, len(l.Items))
	for i, item := range l.Items {
		names[i] = item.GetString_().GetSval()
	}
	return names, nil
}
