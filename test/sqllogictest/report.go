package sqllogictest

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Totals adds up file reports.
type Totals struct {
	Files, Records, PassedReference, Passed, Agreed, Failed, Skipped int
	Elapsed                                                          time.Duration
}

// Add adds a file report to the totals.
func (t *Totals) Add(r FileReport) {
	t.Merge(Totals{Files: 1, Records: r.Records, PassedReference: r.PassedReference, Passed: r.Passed,
		Agreed: r.Agreed, Failed: r.Failed, Skipped: r.Skipped, Elapsed: r.Elapsed})
}

// Merge adds other totals.
func (t *Totals) Merge(o Totals) {
	t.Files += o.Files
	t.Records += o.Records
	t.PassedReference += o.PassedReference
	t.Passed += o.Passed
	t.Agreed += o.Agreed
	t.Failed += o.Failed
	t.Skipped += o.Skipped
	t.Elapsed += o.Elapsed
}

// WriteTable prints the per-file table of a differential run.
func WriteTable(w io.Writer, reports []FileReport, differential bool) Totals {
	var t Totals
	if differential {
		fmt.Fprintf(w, "%-50s %8s %8s %8s %8s %8s %8s %8s\n", "file", "records", "pg-pass", "dg-pass", "passed", "failed", "skipped", "seconds")
	} else {
		fmt.Fprintf(w, "%-50s %8s %8s %8s %8s\n", "file", "records", "passed", "failed", "seconds")
	}
	for _, r := range reports {
		t.Add(r)
		name := r.Name
		if len(name) > 50 {
			name = "…" + name[len(name)-49:]
		}
		if differential {
			fmt.Fprintf(w, "%-50s %8d %8d %8d %8d %8d %8d %8.1f\n", name, r.Records, r.PassedReference, r.Passed, r.Agreed, r.Failed, r.Skipped, r.Elapsed.Seconds())
		} else {
			fmt.Fprintf(w, "%-50s %8d %8d %8d %8.1f\n", name, r.Records, r.Passed, r.Failed, r.Elapsed.Seconds())
		}
		if r.Err != nil {
			fmt.Fprintf(w, "  error: %v\n", r.Err)
		}
	}
	return t
}

// WriteDisagreements prints every disagreement (at most max per file; 0 for
// all).
func WriteDisagreements(w io.Writer, reports []FileReport, max int) {
	for _, r := range reports {
		for i, d := range r.Disagreements {
			if max > 0 && i == max {
				fmt.Fprintf(w, "%s: ... %d more\n", r.Name, len(r.Disagreements)-max)
				break
			}
			fmt.Fprintf(w, "%s:%d: %s\n", r.Name, d.Line, oneLine(d.SQL))
			if d.Reference != "" {
				fmt.Fprintf(w, "    postgresql: %s\n", d.Reference)
			}
			fmt.Fprintf(w, "    distgres:   %s\n", d.Target)
			if d.Reference == "" {
				fmt.Fprintf(w, "    expected:   %s\n", d.Expected)
			}
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Cause groups disagreements by what distgres did differently.
type Cause struct {
	Symptom string
	Count   int
	Files   map[string]int
	Example Disagreement
	// Explanation says why, and what must change to fix it.
	Explanation string
}

var (
	quoted  = regexp.MustCompile(`"[^"]*"`)
	numbers = regexp.MustCompile(`\b\d+\b`)
)

// Symptom names a disagreement's kind in a stable way.
func Symptom(d Disagreement) string {
	norm := func(s string) string {
		s = quoted.ReplaceAllString(s, `"…"`)
		return numbers.ReplaceAllString(s, "N")
	}
	switch {
	case strings.HasPrefix(d.Target, "error") && !strings.HasPrefix(d.Reference, "error"):
		return "distgres " + norm(d.Target)
	case !strings.HasPrefix(d.Target, "error") && strings.HasPrefix(d.Reference, "error"):
		return "distgres succeeded where PostgreSQL gave " + norm(d.Reference)
	}
	return "different result"
}

// Causes groups the disagreements of the reports, most frequent first.
func Causes(reports []FileReport, explain func(symptom string) string) []*Cause {
	by := map[string]*Cause{}
	for _, r := range reports {
		for _, d := range r.Disagreements {
			s := Symptom(d)
			c := by[s]
			if c == nil {
				c = &Cause{Symptom: s, Files: map[string]int{}, Example: d}
				if explain != nil {
					c.Explanation = explain(s)
				}
				by[s] = c
			}
			c.Count++
			c.Files[r.Name]++
		}
	}
	out := make([]*Cause, 0, len(by))
	for _, c := range by {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Symptom < out[j].Symptom
	})
	return out
}

// TotalsLine is the closing line CI reads.
func (t Totals) TotalsLine() string {
	return fmt.Sprintf("conformance: %d passed, %d failed, %d skipped", t.Agreed, t.Failed, t.Skipped)
}
