package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/distgres/distgres/test/sqllogictest"
)

type section struct {
	mode    string
	reports []sqllogictest.FileReport
	totals  sqllogictest.Totals
}

// writeResults writes the Markdown results file: totals per placement mode,
// the per-file table, and every disagreement grouped by cause with its
// explanation.
func writeResults(path string, sections []section, differential bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance results\n\n")
	fmt.Fprintf(&b, "Written by `go run ./cmd/sqllogictest --differential --placement all --results %s PATH...` on %s; do not edit by hand.\n\n", filepath.Base(path), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Counting (per record that applies to `postgresql`): *passed* — distgres and PostgreSQL agree and PostgreSQL matches the file; *failed* — distgres's outcome differs from PostgreSQL's; *skipped* — they agree but PostgreSQL itself does not match the file (another engine's behaviour).\n\n")
	fmt.Fprintf(&b, "| placement | files | records | passed on PostgreSQL | passed on distgres | passed | failed | skipped |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range sections {
		t := s.totals
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", s.mode, t.Files, t.Records, t.PassedReference, t.Passed, t.Agreed, t.Failed, t.Skipped)
	}
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## Placement `%s`\n\n", s.mode)
		fmt.Fprintf(&b, "| file | records | passed on PostgreSQL | passed on distgres | passed | failed | skipped |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range s.reports {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d |\n", r.Name, r.Records, r.PassedReference, r.Passed, r.Agreed, r.Failed, r.Skipped)
		}
		causes := sqllogictest.Causes(s.reports, sqllogictest.Explain)
		if len(causes) == 0 {
			fmt.Fprintf(&b, "\nNo disagreements.\n")
			continue
		}
		fmt.Fprintf(&b, "\n### Disagreements by cause\n\n")
		for _, c := range causes {
			fmt.Fprintf(&b, "- **%d× %s**", c.Count, c.Symptom)
			var files []string
			for f, n := range c.Files {
				files = append(files, fmt.Sprintf("%s (%d)", f, n))
			}
			sort.Strings(files)
			fmt.Fprintf(&b, " — in %s.\n", strings.Join(files, ", "))
			fmt.Fprintf(&b, "  - Cause and fix: %s\n", c.Explanation)
			fmt.Fprintf(&b, "  - Example (line %d): `%s` — PostgreSQL: %s; distgres: %s\n", c.Example.Line, oneLine(c.Example.SQL), c.Example.Reference, c.Example.Target)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// writeKnown writes the known-disagreements list: one line per record,
// "MODE FILE:LINE REASON", the reason being the symptom and its cause.
func writeKnown(path string, sections []section) error {
	var b strings.Builder
	b.WriteString("# Records of the shared corpus where distgres disagrees with PostgreSQL, by placement mode.\n")
	b.WriteString("# Written by: go run ./cmd/sqllogictest --differential --placement all --write-known test/conformance/known_disagreements.txt FILES...\n")
	b.WriteString("# (the files of corpusSubset in test/conformance_test.go). Every line: MODE FILE:LINE REASON.\n")
	for _, s := range sections {
		for _, r := range s.reports {
			for _, d := range r.Disagreements {
				sym := sqllogictest.Symptom(d)
				fmt.Fprintf(&b, "%s %s:%d %s — %s\n", s.mode, r.Name, d.Line, sym, sqllogictest.Explain(sym))
			}
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
