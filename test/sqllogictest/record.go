// Package sqllogictest reads and checks SQLite-style sqllogictest scripts.
//
// A script is a sequence of records separated by blank lines:
//
//	skipif mysql                  (optional conditions)
//	query II rowsort label-1      (or: statement ok / statement error [regex])
//	SELECT a, b FROM t            (SQL, possibly several lines)
//	----
//	1                             (one value per line, or
//	2                              "N values hashing to <md5>")
//
// plus the one-line directives "hash-threshold N" and "halt". Lines that
// start with '#' between records and among a record's conditions are
// comments; inside a record's SQL or values they are kept as text.
package sqllogictest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kind is the kind of a record.
type Kind int

const (
	// KindStatement runs SQL and checks only success or failure.
	KindStatement Kind = iota
	// KindQuery runs SQL and checks the values it returns.
	KindQuery
	// KindHashThreshold sets the number of values above which results are
	// given as a hash.
	KindHashThreshold
	// KindHalt stops the script.
	KindHalt
)

func (k Kind) String() string {
	switch k {
	case KindStatement:
		return "statement"
	case KindQuery:
		return "query"
	case KindHashThreshold:
		return "hash-threshold"
	case KindHalt:
		return "halt"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// SortMode says how a query's values are ordered before they are compared.
type SortMode int

const (
	// NoSort keeps the values in the order the database returned them.
	NoSort SortMode = iota
	// RowSort sorts the rows, comparing them column by column.
	RowSort
	// ValueSort sorts all values individually, ignoring row boundaries.
	ValueSort
)

func (m SortMode) String() string {
	switch m {
	case NoSort:
		return "nosort"
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return "SortMode(" + strconv.Itoa(int(m)) + ")"
}

// Record is one record of a script.
type Record struct {
	Kind Kind
	// Line is the 1-based line of the record's first line: the statement,
	// query, hash-threshold or halt line, not a condition line.
	Line int
	// SQL is the statement text; its lines are joined with "\n".
	SQL string

	// ExpectError is set for "statement error" and "query error".
	ExpectError bool
	// ErrorPattern is the optional regular expression that follows
	// "statement error" or "query error"; "" accepts any error. The parser
	// does not compile it (other dialects' scripts may use other regex
	// syntaxes).
	ErrorPattern string

	// Types holds the query's type letters, e.g. "IIT".
	Types string
	Sort  SortMode
	// Label is the query's label (e.g. "label-1"), "" if there is none.
	Label string
	// Expected lists the expected values in order, one per value. A result
	// line that contains tabs holds several values separated by tabs; any
	// other line is one value (values may contain spaces).
	Expected []string
	// ExpectedHash is the lowercase md5 hex digest when the script gives
	// "N values hashing to H"; otherwise "".
	ExpectedHash string
	// ExpectedCount is N of "N values hashing to H", else len(Expected).
	ExpectedCount int

	// HashThreshold is the value of a KindHashThreshold record.
	HashThreshold int

	// SkipIf and OnlyIf list the engines named by the "skipif ENGINE" and
	// "onlyif ENGINE" lines before the record.
	SkipIf []string
	OnlyIf []string
}

// Applies reports whether the record applies to the engine: it does not if
// the engine is named by a skipif, or if there are onlyif conditions and
// none of them names the engine. Engine names are compared without regard
// to case.
func (r Record) Applies(engine string) bool {
	same := func(e string) bool { return strings.EqualFold(e, engine) }
	if slices.ContainsFunc(r.SkipIf, same) {
		return false
	}
	return len(r.OnlyIf) == 0 || slices.ContainsFunc(r.OnlyIf, same)
}

// File is a parsed script.
type File struct {
	Name    string
	Records []Record
}

// ParseError reports a malformed script.
type ParseError struct {
	File string
	Line int // 1-based
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ParseFile reads and parses the script at path. The File's Name is path.
func ParseFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse parses a script; name is used in the File and in error messages.
// Lines may end in "\n" or "\r\n"; trailing spaces and tabs are ignored on
// every line.
func Parse(r io.Reader, name string) (*File, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: read %s: %w", name, err)
	}
	p := &scriptParser{name: name, lines: lines}
	recs, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &File{Name: name, Records: recs}, nil
}

// readLines splits the input into lines without their line terminators and
// trailing blanks.
func readLines(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var lines []string
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			lines = append(lines, strings.TrimRight(s, " \t\r\n"))
		}
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// hashedValues matches the result line "N values hashing to H".
var hashedValues = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-fA-F]{32})$`)

// scriptParser walks the lines of one script.
type scriptParser struct {
	name  string
	lines []string
	next  int // index of the next line to read
}

func (p *scriptParser) errorf(line int, format string, args ...any) error {
	return &ParseError{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parse returns all records of the script.
func (p *scriptParser) parse() ([]Record, error) {
	var (
		recs     []Record
		skipIf   []string
		onlyIf   []string
		condLine int // line of the first pending condition, 0 if none
	)
	for p.next < len(p.lines) {
		lineNo := p.next + 1
		line := p.lines[p.next]
		p.next++
		if line == "" {
			if condLine != 0 {
				return nil, p.errorf(condLine, "skipif/onlyif is not followed by a record")
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := directiveFields(line)
		switch fields[0] {
		case "skipif", "onlyif":
			if len(fields) < 2 {
				return nil, p.errorf(lineNo, "%s needs an engine name", fields[0])
			}
			if fields[0] == "skipif" {
				skipIf = append(skipIf, fields[1])
			} else {
				onlyIf = append(onlyIf, fields[1])
			}
			if condLine == 0 {
				condLine = lineNo
			}
			continue
		}
		rec := Record{Line: lineNo}
		var err error
		switch fields[0] {
		case "statement":
			err = p.statement(&rec, line, fields)
		case "query":
			err = p.query(&rec, line, fields)
		case "hash-threshold":
			err = p.hashThreshold(&rec, fields)
		case "halt":
			if len(fields) != 1 {
				err = p.errorf(lineNo, "unexpected %q after halt", fields[1])
			}
			rec.Kind = KindHalt
		default:
			err = p.errorf(lineNo, "unknown directive %q", fields[0])
		}
		if err != nil {
			return nil, err
		}
		rec.SkipIf, rec.OnlyIf = skipIf, onlyIf
		skipIf, onlyIf, condLine = nil, nil, 0
		recs = append(recs, rec)
	}
	if condLine != 0 {
		return nil, p.errorf(condLine, "skipif/onlyif is not followed by a record")
	}
	return recs, nil
}

// directiveFields splits a directive line into words, dropping a trailing
// comment that starts with a word beginning with '#' (as in
// "onlyif sqlite # empty RHS").
func directiveFields(line string) []string {
	fields := strings.Fields(line)
	for i, f := range fields {
		if i > 0 && strings.HasPrefix(f, "#") {
			return fields[:i]
		}
	}
	return fields
}

// errorPattern returns the text of line after its first two words, the
// optional error regex of "statement error" and "query error".
func errorPattern(line string) string {
	rest := strings.TrimSpace(line)
	for range 2 {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			return ""
		}
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	return rest
}

func (p *scriptParser) statement(rec *Record, line string, fields []string) error {
	rec.Kind = KindStatement
	switch {
	case len(fields) < 2:
		return p.errorf(rec.Line, `statement needs "ok" or "error"`)
	case fields[1] == "ok":
		if len(fields) > 2 {
			return p.errorf(rec.Line, "unexpected %q after statement ok", fields[2])
		}
	case fields[1] == "error":
		rec.ExpectError = true
		rec.ErrorPattern = errorPattern(line)
	default:
		return p.errorf(rec.Line, `unknown statement mode %q (want "ok" or "error")`, fields[1])
	}
	sql, sep := p.sql()
	if sep != 0 {
		return p.errorf(sep, "unexpected ---- in a statement")
	}
	if sql == "" {
		return p.errorf(rec.Line, "statement without SQL")
	}
	rec.SQL = sql
	return nil
}

func (p *scriptParser) query(rec *Record, line string, fields []string) error {
	rec.Kind = KindQuery
	if len(fields) < 2 {
		return p.errorf(rec.Line, "query needs type letters or \"error\"")
	}
	if fields[1] == "error" {
		rec.ExpectError = true
		rec.ErrorPattern = errorPattern(line)
	} else {
		rec.Types = fields[1]
		for _, c := range []byte(rec.Types) {
			if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
				return p.errorf(rec.Line, "invalid query type letters %q", rec.Types)
			}
		}
		if len(fields) > 2 {
			switch fields[2] {
			case "nosort":
				rec.Sort = NoSort
			case "rowsort":
				rec.Sort = RowSort
			case "valuesort":
				rec.Sort = ValueSort
			default:
				return p.errorf(rec.Line, "unknown sort mode %q (want nosort, rowsort or valuesort)", fields[2])
			}
		}
		if len(fields) > 3 {
			rec.Label = fields[3]
		}
		if len(fields) > 4 {
			return p.errorf(rec.Line, "unexpected %q after the query label", fields[4])
		}
	}
	sql, sep := p.sql()
	if sql == "" {
		return p.errorf(rec.Line, "query without SQL")
	}
	rec.SQL = sql
	if sep != 0 {
		p.results(rec)
	}
	rec.ExpectedCount = len(rec.Expected)
	if len(rec.Expected) == 1 {
		if m := hashedValues.FindStringSubmatch(rec.Expected[0]); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return p.errorf(sep+1, "bad value count %q: %v", m[1], err)
			}
			rec.Expected = nil
			rec.ExpectedCount = n
			rec.ExpectedHash = strings.ToLower(m[2])
		}
	}
	return nil
}

func (p *scriptParser) hashThreshold(rec *Record, fields []string) error {
	rec.Kind = KindHashThreshold
	if len(fields) != 2 {
		return p.errorf(rec.Line, "hash-threshold needs one number")
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n < 0 {
		return p.errorf(rec.Line, "invalid hash-threshold %q", fields[1])
	}
	rec.HashThreshold = n
	return nil
}

// sql reads SQL lines up to a blank line, the end of the script, or a "----"
// line. It returns the lines joined with "\n" and the 1-based line number of
// the "----" line (0 if the SQL did not end with one).
func (p *scriptParser) sql() (string, int) {
	start := p.next
	for p.next < len(p.lines) {
		line := p.lines[p.next]
		if line == "" {
			break
		}
		p.next++
		if line == "----" {
			return strings.Join(p.lines[start:p.next-1], "\n"), p.next
		}
	}
	return strings.Join(p.lines[start:p.next], "\n"), 0
}

// results reads the expected values up to a blank line or the end of the
// script.
func (p *scriptParser) results(rec *Record) {
	for p.next < len(p.lines) {
		line := p.lines[p.next]
		if line == "" {
			return
		}
		p.next++
		if strings.Contains(line, "\t") {
			rec.Expected = append(rec.Expected, strings.Split(line, "\t")...)
		} else {
			rec.Expected = append(rec.Expected, line)
		}
	}
}
