package sqllogictest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir returns the shared conformance corpus: $DISTGRES_SLT_DIR, or
// /work/shared/conformance/slt.
func corpusDir() string {
	if d := os.Getenv("DISTGRES_SLT_DIR"); d != "" {
		return d
	}
	return "/work/shared/conformance/slt"
}

// corpusCounts are the per-file figures of the table "Results on stock
// PostgreSQL 15" in shared/conformance/SOURCES.md: statements and queries
// (counted up to a halt that applies to postgresql, as SOURCES.md does), and
// how many of them apply to postgresql.
var corpusCounts = map[string]struct{ records, postgresql int }{
	"sqlite/evidence/in1.test":                       {216, 132},
	"sqlite/evidence/in2.test":                       {54, 53},
	"sqlite/evidence/slt_lang_aggfunc.test":          {5, 5},
	"sqlite/evidence/slt_lang_createview.test":       {25, 15},
	"sqlite/evidence/slt_lang_dropindex.test":        {8, 8},
	"sqlite/evidence/slt_lang_droptable.test":        {12, 12},
	"sqlite/evidence/slt_lang_dropview.test":         {13, 13},
	"sqlite/evidence/slt_lang_update.test":           {27, 27},
	"sqlite/index/between/1000/slt_good_0.test":      {3792, 3792},
	"sqlite/index/commute/1000/slt_good_0.test":      {4741, 4741},
	"sqlite/index/delete/10/slt_good_0.test":         {10730, 10730},
	"sqlite/index/orderby/10/slt_good_4.test":        {10052, 10052},
	"sqlite/index/orderby_nosort/10/slt_good_0.test": {10053, 10053},
	"sqlite/index/random/1000/slt_good_0.test":       {2302, 2032},
	"sqlite/index/random/1000/slt_good_1.test":       {1061, 1051},
	"sqlite/index/view/10/slt_good_1.test":           {8200, 7135},
	"sqlite/random/aggregates/slt_good_0.test":       {13922, 9130},
	"sqlite/random/expr/slt_good_0.test":             {15426, 10012},
	"sqlite/random/expr/slt_good_1.test":             {13883, 10012},
	"sqlite/random/groupby/slt_good_0.test":          {10559, 9050},
	"sqlite/random/select/slt_good_0.test":           {11084, 9175},
	"sqlite/select1.test":                            {1031, 1031},
	"sqlite/select2.test":                            {1031, 1031},
	"sqlite/select3.test":                            {3351, 3351},
	"sqlite/select4.test":                            {3857, 3857},
	"sqlite/select5.test":                            {1436, 1436},
}

// TestParseCorpus parses every .test file of the shared corpus and checks
// the record counts that SOURCES.md states.
func TestParseCorpus(t *testing.T) {
	dir := corpusDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("conformance corpus not available at %s (set DISTGRES_SLT_DIR): %v", dir, err)
	}
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".test") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no .test files under %s", dir)
	}

	var total, totalPG, listed int
	for _, path := range paths {
		f, err := ParseFile(path)
		if err != nil {
			t.Errorf("ParseFile: %v", err)
			continue
		}
		records, pg := 0, 0
		for _, rec := range f.Records {
			if rec.Kind == KindHalt && rec.Applies("postgresql") {
				break
			}
			if rec.Kind != KindStatement && rec.Kind != KindQuery {
				continue
			}
			records++
			if rec.Applies("postgresql") {
				pg++
			}
			checkCorpusRecord(t, path, rec)
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := corpusCounts[filepath.ToSlash(rel)]
		if !ok {
			t.Logf("%s: not listed in SOURCES.md; %d records, %d for postgresql", rel, records, pg)
			continue
		}
		listed++
		total += records
		totalPG += pg
		if records != want.records || pg != want.postgresql {
			t.Errorf("%s: %d records, %d for postgresql; SOURCES.md says %d and %d", rel, records, pg, want.records, want.postgresql)
		}
	}
	if listed != len(corpusCounts) {
		t.Errorf("found %d of the %d files SOURCES.md lists", listed, len(corpusCounts))
		return
	}
	if total != 126871 || totalPG != 107936 {
		t.Errorf("%d records, %d for postgresql; SOURCES.md says 126871 and 107936", total, totalPG)
	}
}

// checkCorpusRecord checks what every query of the SQLite corpus satisfies:
// listed values fill whole rows and hashes are used above the threshold.
func checkCorpusRecord(t *testing.T, path string, rec Record) {
	t.Helper()
	if rec.Kind != KindQuery || rec.ExpectError {
		return
	}
	switch {
	case rec.Types == "":
		t.Errorf("%s:%d: query without type letters", path, rec.Line)
	case rec.ExpectedHash == "" && len(rec.Expected)%len(rec.Types) != 0:
		t.Errorf("%s:%d: %d values for %d columns", path, rec.Line, len(rec.Expected), len(rec.Types))
	case rec.ExpectedHash != "" && rec.ExpectedCount%len(rec.Types) != 0:
		t.Errorf("%s:%d: %d hashed values for %d columns", path, rec.Line, rec.ExpectedCount, len(rec.Types))
	}
}
