package catalog

import (
	"bytes"
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger sends Raft's log lines to log at a matching level.
func newRaftLogger(log *slog.Logger) hclog.Logger {
	level := hclog.Warn
	switch {
	case log.Enabled(context.Background(), slog.LevelDebug):
		level = hclog.Debug
	case log.Enabled(context.Background(), slog.LevelInfo):
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: slogWriter{log}, DisableTime: true})
}

type slogWriter struct{ log *slog.Logger }

var _ io.Writer = slogWriter{}

func (w slogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	level := slog.LevelInfo
	switch {
	case bytes.Contains(p, []byte("[ERROR]")):
		level = slog.LevelError
	case bytes.Contains(p, []byte("[WARN]")):
		level = slog.LevelWarn
	case bytes.Contains(p, []byte("[DEBUG]")), bytes.Contains(p, []byte("[TRACE]")):
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, line)
	return len(p), nil
}
