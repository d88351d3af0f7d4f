package catalog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// newRaftLogger sends Raft's log lines to log. Raft reports routine events
// (elections at start-up, a peer that is down) as warnings and errors and
// repeats them several times a second, so its warnings become Info, its
// errors Warn, and a line that repeats within a minute Debug.
func newRaftLogger(log *slog.Logger) hclog.Logger {
	level := hclog.Warn
	switch {
	case log.Enabled(context.Background(), slog.LevelDebug):
		level = hclog.Debug
	case log.Enabled(context.Background(), slog.LevelInfo):
		level = hclog.Info
	}
	w := &slogWriter{log: log, seen: map[string]time.Time{}}
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: w, DisableTime: true})
}

type slogWriter struct {
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]time.Time // message (up to its first ':' after the name) -> last logged
}

var _ io.Writer = (*slogWriter)(nil)

func (w *slogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	level := slog.LevelInfo
	switch {
	case strings.Contains(line, "[ERROR]"):
		level = slog.LevelWarn
	case strings.Contains(line, "[WARN]"):
		level = slog.LevelInfo
	case strings.Contains(line, "[DEBUG]"), strings.Contains(line, "[TRACE]"):
		level = slog.LevelDebug
	}
	key := line
	if i := strings.Index(line, "raft: "); i >= 0 {
		if j := strings.IndexByte(line[i+6:], ':'); j >= 0 {
			key = line[:i+6+j]
		}
	}
	now := time.Now()
	w.mu.Lock()
	if last, ok := w.seen[key]; ok && now.Sub(last) < time.Minute {
		level = slog.LevelDebug
	} else {
		w.seen[key] = now
	}
	if len(w.seen) > 1000 {
		clear(w.seen)
	}
	w.mu.Unlock()
	w.log.Log(context.Background(), level, line)
	return len(p), nil
}
