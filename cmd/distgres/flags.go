package main

import (
	"flag"
	"io"
	"log/slog"

	"github.com/distgres/distgres/coordinator/auth"
)

// serverFlags are the flags `distgres up` and `distgres coordinator`
// share.
type serverFlags struct {
	shards    *int
	dist      *string
	usersFile *string
	users     userFlags
	verbose   *bool
	pprof     *string
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	f := &serverFlags{
		shards:    fs.Int("shards", 32, "default shard count of distributed tables"),
		dist:      fs.String("default-distribution", "", "default for CREATE TABLE without DISTRIBUTE BY: hash (Postgres-XL rule), hash-first-column, replication or roundrobin"),
		usersFile: fs.String("users-file", "", "file of name:password or name:SCRAM-SHA-256$... lines; enables password authentication"),
		verbose:   fs.Bool("v", false, "log to stderr"),
		pprof:     fs.String("pprof", "", "serve Go profiles on this address (e.g. 127.0.0.1:6060)"),
	}
	fs.Var(&f.users, "user", "name:password of a user (repeatable); enables password authentication")
	return f
}

// setup starts the profile server (if asked), and returns the logger,
// the users and a function that stops the profile server.
func (f *serverFlags) setup(stderr io.Writer) (*slog.Logger, *auth.Users, func(), error) {
	stop := func() {}
	if *f.pprof != "" {
		ln, err := servePprof(*f.pprof, stderr)
		if err != nil {
			return nil, nil, stop, err
		}
		stop = func() { ln.Close() }
	}
	level := slog.LevelWarn
	if *f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	users, err := loadUsers(*f.usersFile, f.users)
	if err != nil {
		stop()
		return nil, nil, func() {}, err
	}
	return log, users, stop, nil
}
