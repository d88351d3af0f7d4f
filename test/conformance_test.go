package test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/distgres/distgres/test/harness"
	"github.com/distgres/distgres/test/sqllogictest"
)

var placementModes = []string{"default", "replication", "roundrobin", "hash-first-column"}

// corpusSubset is the part of the shared sqllogictest corpus that every
// test run checks, in every placement mode.
var corpusSubset = []string{
	"sqlite/evidence/in1.test",
	"sqlite/evidence/in2.test",
	"sqlite/evidence/slt_lang_aggfunc.test",
	"sqlite/evidence/slt_lang_createview.test",
	"sqlite/evidence/slt_lang_dropindex.test",
	"sqlite/evidence/slt_lang_droptable.test",
	"sqlite/evidence/slt_lang_dropview.test",
	"sqlite/evidence/slt_lang_update.test",
	"sqlite/select1.test",
}

// TestConformance runs the project's own sqllogictest files (test/conformance)
// in every placement mode: against stock PostgreSQL record by record, and
// against their own expected results. Files whose first line says
// "distgres-only" use distgres syntax and are checked against their expected
// results only.
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("conformance/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	ref := &sqllogictest.Server{URL: harness.URL(harness.StartPostgres(t))}
	ctx := context.Background()
	for _, mode := range placementModes {
		t.Run(mode, func(t *testing.T) {
			target := &sqllogictest.Server{URL: harness.URL(c.ClientURL), Reset: true, Setup: []string{"SET distgres.default_distribution = '" + mode + "'"}}
			for _, path := range files {
				t.Run(filepath.Base(path), func(t *testing.T) {
					f, err := sqllogictest.ParseFile(path)
					if err != nil {
						t.Fatal(err)
					}
					tdb, done, err := target.Fresh(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer done()
					var rep sqllogictest.FileReport
					if distgresOnly(t, path) {
						rep = sqllogictest.RunFile(ctx, tdb, f)
					} else {
						rdb, rdone, err := ref.Fresh(ctx)
						if err != nil {
							t.Fatal(err)
						}
						defer rdone()
						rep = sqllogictest.RunDifferential(ctx, rdb, tdb, f)
						if rep.PassedReference != rep.Records {
							t.Errorf("PostgreSQL passes %d of %d records: the file's expected results are wrong", rep.PassedReference, rep.Records)
						}
					}
					if rep.Err != nil {
						t.Fatal(rep.Err)
					}
					if rep.Records == 0 {
						t.Fatal("no records ran")
					}
					if rep.Failed > 0 || rep.Passed != rep.Records {
						var b strings.Builder
						sqllogictest.WriteDisagreements(&b, []sqllogictest.FileReport{rep}, 0)
						t.Errorf("%d of %d records pass, %d disagree:\n%s", rep.Passed, rep.Records, rep.Failed, b.String())
					}
				})
			}
		})
	}
}

func distgresOnly(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.Contains(line, "distgres-only")
}

// TestConformanceCorpus runs a fixed subset of the shared corpus in every
// placement mode, differentially against stock PostgreSQL. Records where
// distgres is known to disagree are listed, each with its reason, in
// conformance/known_disagreements.txt; any other disagreement fails the
// test, and listed records that now agree are reported so the list shrinks.
func TestConformanceCorpus(t *testing.T) {
	root := os.Getenv("DISTGRES_SLT_DIR")
	if root == "" {
		root = "../../shared/conformance/slt"
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared sqllogictest corpus not found at %s (set DISTGRES_SLT_DIR): %v", root, err)
	}
	known, err := readKnown("conformance/known_disagreements.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := harness.Start(t, harness.Options{Nodes: 3, Shards: 8})
	ref := &sqllogictest.Server{URL: harness.URL(harness.StartPostgres(t))}
	ctx := context.Background()
	for _, mode := range placementModes {
		t.Run(mode, func(t *testing.T) {
			target := &sqllogictest.Server{URL: harness.URL(c.ClientURL), Reset: true, Setup: []string{"SET distgres.default_distribution = '" + mode + "'"}}
			var totals sqllogictest.Totals
			for _, name := range corpusSubset {
				f, err := sqllogictest.ParseFile(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				f.Name = name
				tdb, tdone, err := target.Fresh(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rdb, rdone, err := ref.Fresh(ctx)
				if err != nil {
					tdone()
					t.Fatal(err)
				}
				rep := sqllogictest.RunDifferential(ctx, rdb, tdb, f)
				rdone()
				tdone()
				if rep.Err != nil {
					t.Fatal(rep.Err)
				}
				totals.Add(rep)
				seen := map[string]bool{}
				for _, d := range rep.Disagreements {
					key := knownKey(mode, name, d.Line)
					seen[key] = true
					if _, ok := known[key]; !ok {
						t.Errorf("new disagreement %s:%d (%s): %s\n    postgresql: %s\n    distgres:   %s", name, d.Line, mode, strings.Join(strings.Fields(d.SQL), " "), d.Reference, d.Target)
					}
				}
				for key := range known {
					if strings.HasPrefix(key, mode+" "+name+":") && !seen[key] {
						t.Logf("%s now agrees with PostgreSQL: remove it from known_disagreements.txt", key)
					}
				}
			}
			t.Logf("placement %s: %s", mode, totals.TotalsLine())
		})
	}
}

func knownKey(mode, file string, line int) string {
	return mode + " " + file + ":" + itoa(line)
}

func itoa(n int) string { return strconv.Itoa(n) }

// readKnown reads "MODE FILE:LINE REASON" lines; # starts a comment.
func readKnown(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) < 3 || strings.TrimSpace(f[2]) == "" {
			return nil, &knownError{path: path, line: i + 1}
		}
		out[f[0]+" "+f[1]] = f[2]
	}
	return out, nil
}

type knownError struct {
	path string
	line int
}

func (e *knownError) Error() string {
	return e.path + ":" + itoa(e.line) + ": want MODE FILE:LINE REASON (every entry needs a reason)"
}
