package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Engine is the name records are filtered by (skipif/onlyif).
const Engine = "postgresql"

// RecordTimeout bounds one record.
const RecordTimeout = 2 * time.Minute

// Outcome is what a record did on one database.
type Outcome struct {
	Err    error
	Result Result
}

// run executes one record.
func run(ctx context.Context, db *Database, rec Record) Outcome {
	ctx, cancel := context.WithTimeout(ctx, RecordTimeout)
	defer cancel()
	if rec.Kind == KindStatement {
		return Outcome{Err: db.Exec(ctx, rec.SQL)}
	}
	rows, err := db.Query(ctx, rec.SQL)
	if err != nil {
		return Outcome{Err: err}
	}
	formatted := make([][]string, len(rows))
	for i, r := range rows {
		f := make([]string, len(r))
		for j, v := range r {
			letter := byte('T')
			if j < len(rec.Types) {
				letter = rec.Types[j]
			}
			f[j] = FormatValue(letter, v)
		}
		formatted[i] = f
	}
	return Outcome{Result: NewResult(formatted, rec.Sort)}
}

// Matches reports whether the outcome is what the file expects.
func (o Outcome) Matches(rec Record) bool {
	if rec.ExpectError {
		if o.Err == nil {
			return false
		}
		if rec.ErrorPattern == "" {
			return true
		}
		re, err := regexp.Compile(rec.ErrorPattern)
		return err != nil || re.MatchString(o.Err.Error())
	}
	if o.Err != nil {
		return false
	}
	return rec.Kind == KindStatement || o.Result.Matches(rec)
}

// Same reports whether two databases did the same: both failed, or both
// succeeded with the same result.
func (o Outcome) Same(p Outcome) bool {
	if (o.Err != nil) != (p.Err != nil) {
		return false
	}
	return o.Err != nil || o.Result.Equal(p.Result)
}

func (o Outcome) String() string {
	if o.Err != nil {
		var pe *pgconn.PgError
		if errors.As(o.Err, &pe) {
			return fmt.Sprintf("error %s: %s", pe.Code, pe.Message)
		}
		return "error: " + o.Err.Error()
	}
	return o.Result.String()
}

// FileReport is the outcome of one file.
type FileReport struct {
	Name string
	// Records counts the records that apply to the engine (statements and
	// queries, up to a halt).
	Records int
	// PassedReference and Passed count the records whose outcome matched the
	// file's expected output on the reference (PostgreSQL) and on the
	// target (distgres).
	PassedReference, Passed int
	// In differential mode: Agreed (and the reference matched the file),
	// Failed (the target disagreed with the reference), Skipped (they agreed
	// but the reference does not match the file).
	Agreed, Failed, Skipped int
	Disagreements           []Disagreement
	Elapsed                 time.Duration
	// Err is set when the file could not run at all.
	Err error
}

// Disagreement is a record where the target and the reference differ (or,
// without a reference, where the target does not match the file).
type Disagreement struct {
	Line      int
	SQL       string
	Reference string
	Target    string
	Expected  string
}

// applicable walks the records that apply to the engine, stopping at halt
// and tracking hash-threshold.
func applicable(f *File, fn func(rec Record) bool) {
	for _, rec := range f.Records {
		if !rec.Applies(Engine) {
			continue
		}
		switch rec.Kind {
		case KindHalt:
			return
		case KindHashThreshold:
			continue
		}
		if !fn(rec) {
			return
		}
	}
}

// expected describes what the file expects of a record.
func expected(rec Record) string {
	switch {
	case rec.ExpectError:
		return "error"
	case rec.Kind == KindStatement:
		return "ok"
	case rec.ExpectedHash != "":
		return fmt.Sprintf("%d values hashing to %s", rec.ExpectedCount, rec.ExpectedHash)
	}
	return Result{Values: rec.Expected, Count: len(rec.Expected)}.String()
}

// RunFile runs a file against one database and checks the file's own
// expected results.
func RunFile(ctx context.Context, db *Database, f *File) FileReport {
	return runRecords(ctx, nil, db, f)
}

// RunDifferential runs a file record by record on the reference and on the
// target and compares their outcomes.
func RunDifferential(ctx context.Context, ref, target *Database, f *File) FileReport {
	return runRecords(ctx, ref, target, f)
}

// runRecords runs the file's records on the target and, when there is
// one, on the reference. Without a reference a disagreement is a record
// that does not match the file.
func runRecords(ctx context.Context, ref, target *Database, f *File) FileReport {
	start := time.Now()
	rep := FileReport{Name: f.Name}
	applicable(f, func(rec Record) bool {
		if ctx.Err() != nil {
			rep.Err = ctx.Err()
			return false
		}
		rep.Records++
		t := run(ctx, target, rec)
		targetOK := t.Matches(rec)
		if targetOK {
			rep.Passed++
		}
		if ref == nil {
			if !targetOK {
				rep.Failed++
				rep.Disagreements = append(rep.Disagreements, Disagreement{Line: rec.Line, SQL: rec.SQL, Target: t.String(), Expected: expected(rec)})
			}
			return true
		}
		r := run(ctx, ref, rec)
		refOK := r.Matches(rec)
		if refOK {
			rep.PassedReference++
		}
		switch {
		case !r.Same(t):
			rep.Failed++
			rep.Disagreements = append(rep.Disagreements, Disagreement{Line: rec.Line, SQL: rec.SQL, Reference: r.String(), Target: t.String(), Expected: expected(rec)})
		case refOK:
			rep.Agreed++
		default:
			rep.Skipped++
		}
		return true
	})
	rep.Elapsed = time.Since(start)
	return rep
}
