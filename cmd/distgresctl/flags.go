package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// options are the flags every command accepts, before or after its name.
type options struct {
	url  string
	json bool
}

// newFlagSet returns a flag set that defines the common flags on opts,
// with their current values as defaults, so that flags given before the
// command carry over.
func newFlagSet(name string, opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, with our usage text
	fs.StringVar(&opts.url, "url", opts.url, "connection string")
	fs.StringVar(&opts.url, "d", opts.url, "connection string")
	fs.BoolVar(&opts.json, "json", opts.json, "print JSON")
	return fs
}

// parseInterspersed parses args with fs, allowing flags after positional
// arguments, and returns the positional arguments. After "--" every
// argument is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct {
	msg   string
	usage string // what to print after the message
}

func (e *usageError) Error() string { return e.msg }

// invocation is a parsed command line.
type invocation struct {
	cmd  *command
	opts options
	act  action
}

// parse parses a command line; it returns flag.ErrHelp when help was
// asked for and a *usageError when the command line is wrong.
func parse(args []string) (*invocation, error) {
	inv := &invocation{}
	global := newFlagSet("distgresctl", &inv.opts)
	if err := global.Parse(args); err != nil {
		return nil, flagError(err, usage())
	}
	cmd, rest, err := lookup(global.Args())
	if err != nil {
		return nil, &usageError{msg: err.Error(), usage: usage()}
	}
	if cmd.setup == nil { // help
		return nil, flag.ErrHelp
	}
	inv.cmd = cmd
	fs := newFlagSet(cmd.name, &inv.opts)
	build := cmd.setup(fs)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return nil, flagError(err, cmd.usage())
	}
	if len(pos) != cmd.nargs {
		msg := fmt.Sprintf("%s: want %s", cmd.name, cmd.args)
		if cmd.nargs == 0 {
			msg = fmt.Sprintf("%s: unexpected argument %q", cmd.name, pos[0])
		}
		return nil, &usageError{msg: msg, usage: cmd.usage()}
	}
	if inv.act, err = build(pos); err != nil {
		return nil, &usageError{msg: cmd.name + ": " + err.Error(), usage: cmd.usage()}
	}
	return inv, nil
}

// flagError turns an error of flag.FlagSet.Parse into a usage error (or
// flag.ErrHelp for -h).
func flagError(err error, usage string) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{msg: err.Error(), usage: usage}
}

// usage is the full usage text.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: distgresctl [--url URL] [--json] COMMAND [ARGUMENTS]\n\nCommands:\n")
	for _, c := range commands() {
		synopsis := strings.TrimSpace(c.name + " " + c.args)
		if len(synopsis) > 28 {
			fmt.Fprintf(&b, "  %s\n  %-28s  %s\n", synopsis, "", c.about)
			continue
		}
		fmt.Fprintf(&b, "  %-28s  %s\n", synopsis, c.about)
	}
	b.WriteString(`
Flags (before or after the command):
  -d, --url URL   coordinator connection string (postgres://... or key=value);
                  default $DISTGRES_URL, else the libpq variables
                  (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, ...)
  --json          print JSON instead of tables
`)
	return b.String()
}
