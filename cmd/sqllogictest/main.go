// Command sqllogictest runs sqllogictest files against distgres: in
// differential mode record by record against a stock PostgreSQL, otherwise
// against the files' own expected results.
//
//	go run ./cmd/sqllogictest --differential [--placement MODE|all] [--nodes N] PATH...
//
// Without --dsn and --reference-dsn it starts a local distgres cluster and a
// stock PostgreSQL itself (PostgreSQL server binaries required) and stops
// them at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/distgres/distgres/cluster"
	"github.com/distgres/distgres/datanode"
	"github.com/distgres/distgres/test/sqllogictest"
)

var modes = []string{"default", "replication", "roundrobin", "hash-first-column"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sqllogictest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	differential := fs.Bool("differential", false, "compare distgres with a stock PostgreSQL record by record")
	placement := fs.String("placement", "default", "table placement mode: default, replication, roundrobin, hash-first-column, or all")
	nodes := fs.Int("nodes", 3, "data nodes of the local cluster")
	shards := fs.Int("shards", 8, "shards per distributed table in the local cluster")
	dsn := fs.String("dsn", "", "distgres coordinator URL (default: start a local cluster)")
	refDSN := fs.String("reference-dsn", "", "stock PostgreSQL URL for --differential (default: start one)")
	resultsPath := fs.String("results", "", "write the totals and every disagreement's cause to this Markdown file")
	show := fs.Int("show", 10, "disagreements printed per file (0: all)")
	jobs := fs.Int("jobs", 1, "placement modes run at the same time, each on its own servers")
	known := fs.String("write-known", "", "write every disagreement as a MODE FILE:LINE REASON line to this file (the list TestConformanceCorpus accepts)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: sqllogictest [--differential] [--placement MODE|all] [--nodes N] PATH...")
		return 2
	}
	selected := []string{*placement}
	if *placement == "all" {
		selected = modes
	}
	for _, m := range selected {
		if !contains(modes, m) {
			fmt.Fprintf(stderr, "sqllogictest: unknown placement mode %q (want %s or all)\n", m, strings.Join(modes, ", "))
			return 2
		}
	}
	files, err := collect(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "sqllogictest: %v\n", err)
		return 1
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "sqllogictest: no .test or .slt files found (is the shared corpus present?)")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *jobs < 1 || *dsn != "" {
		*jobs = 1 // one given cluster serves one mode at a time
	}

	// Each job has its own servers (a distgres cluster serves one
	// database) and runs whole placement modes.
	type result struct {
		sec section
		out string
		err error
	}
	results := make([]result, len(selected))
	queue := make(chan int)
	var wg sync.WaitGroup
	for j := 0; j < min(*jobs, len(selected)); j++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env, err := start(ctx, *dsn, *refDSN, *differential, *nodes, *shards)
			if err != nil {
				for i := range queue {
					results[i].err = err
				}
				return
			}
			defer env.close()
			for i := range queue {
				mode := selected[i]
				var out strings.Builder
				fmt.Fprintf(&out, "\n== placement %s ==\n", mode)
				target := &sqllogictest.Server{URL: env.dsn, Reset: true, Setup: []string{"SET distgres.default_distribution = '" + mode + "'"}}
				var ref *sqllogictest.Server
				if *differential {
					ref = &sqllogictest.Server{URL: env.refDSN}
				}
				reports := runFiles(ctx, files, target, ref, stderr)
				totals := sqllogictest.WriteTable(&out, reports, *differential)
				sqllogictest.WriteDisagreements(&out, reports, *show)
				fmt.Fprintf(&out, "placement %s: %s\n", mode, totals.TotalsLine())
				results[i] = result{sec: section{mode: mode, reports: reports, totals: totals}, out: out.String()}
				if *jobs == 1 {
					fmt.Fprint(stdout, results[i].out)
				}
			}
		}()
	}
	for i := range selected {
		queue <- i
	}
	close(queue)
	wg.Wait()

	var grand sqllogictest.Totals
	var sections []section
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(stderr, "sqllogictest: %v\n", r.err)
			return 1
		}
		if *jobs > 1 {
			fmt.Fprint(stdout, r.out)
		}
		grand.Merge(r.sec.totals)
		sections = append(sections, r.sec)
	}
	if *resultsPath != "" {
		if err := writeResults(*resultsPath, sections, *differential); err != nil {
			fmt.Fprintf(stderr, "sqllogictest: %v\n", err)
			return 1
		}
	}
	if *known != "" {
		if err := writeKnown(*known, sections); err != nil {
			fmt.Fprintf(stderr, "sqllogictest: %v\n", err)
			return 1
		}
	}
	fmt.Fprintln(stdout, grand.TotalsLine())
	if grand.Failed > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// collect expands folders into their .test and .slt files, sorted.
func collect(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".test") || strings.HasSuffix(path, ".slt")) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// runFiles runs every file on a fresh database of each server.
func runFiles(ctx context.Context, files []string, target, ref *sqllogictest.Server, stderr io.Writer) []sqllogictest.FileReport {
	var reports []sqllogictest.FileReport
	for _, path := range files {
		if ctx.Err() != nil {
			break
		}
		rep := runOne(ctx, path, target, ref)
		if rep.Err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, rep.Err)
		}
		reports = append(reports, rep)
	}
	return reports
}

func runOne(ctx context.Context, path string, target, ref *sqllogictest.Server) sqllogictest.FileReport {
	f, err := sqllogictest.ParseFile(path)
	if err != nil {
		return sqllogictest.FileReport{Name: path, Err: err}
	}
	f.Name = shortName(path)
	tdb, tdone, err := target.Fresh(ctx)
	if err != nil {
		return sqllogictest.FileReport{Name: f.Name, Err: err}
	}
	defer tdone()
	if ref == nil {
		return sqllogictest.RunFile(ctx, tdb, f)
	}
	rdb, rdone, err := ref.Fresh(ctx)
	if err != nil {
		return sqllogictest.FileReport{Name: f.Name, Err: err}
	}
	defer rdone()
	return sqllogictest.RunDifferential(ctx, rdb, tdb, f)
}

// shortName drops the part of a path before the corpus folder.
func shortName(path string) string {
	for _, marker := range []string{"/slt/", "/conformance/"} {
		if i := strings.LastIndex(path, marker); i >= 0 {
			return path[i+len(marker):]
		}
	}
	return path
}

// env is the servers a run uses, started here when no DSN was given.
type env struct {
	dsn, refDSN string
	stops       []func()
}

func (e *env) close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
}

func start(ctx context.Context, dsn, refDSN string, differential bool, nodes, shards int) (*env, error) {
	e := &env{dsn: dsn, refDSN: refDSN}
	if dsn != "" && (refDSN != "" || !differential) {
		return e, nil
	}
	bin, err := datanode.FindBinaries()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp(scratch(), "distgres-slt-")
	if err != nil {
		return nil, err
	}
	os.Chmod(base, 0o755)
	e.stops = append(e.stops, func() { os.RemoveAll(base) })
	tpl := filepath.Join(base, "template")
	if err := datanode.InitDB(ctx, bin, tpl, datanode.InitOptions{Fast: true, NoSync: true}); err != nil {
		e.close()
		return nil, err
	}
	if e.dsn == "" {
		c, err := cluster.Up(ctx, cluster.Options{Dir: filepath.Join(base, "cluster"), Nodes: nodes, Shards: shards, Template: tpl, Fast: true})
		if err != nil {
			e.close()
			return nil, err
		}
		e.stops = append(e.stops, func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c.Close(sctx)
		})
		e.dsn = c.ClientURL + "?sslmode=disable"
	}
	if differential && e.refDSN == "" {
		dir := filepath.Join(base, "reference")
		if err := datanode.CopyDataDir(tpl, dir); err != nil {
			e.close()
			return nil, err
		}
		s := datanode.NewServer(bin, dir, nil)
		port, err := datanode.FreePort()
		if err != nil {
			e.close()
			return nil, err
		}
		if err := s.Start(ctx, port); err != nil {
			e.close()
			return nil, err
		}
		e.stops = append(e.stops, func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s.Stop(sctx)
		})
		e.refDSN = s.URL() + "?sslmode=disable"
	}
	return e, nil
}

// scratch prefers tmpfs: PostgreSQL creates thousands of small files.
func scratch() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return ""
}
