package datanode

import (
	"io"
	"os"
	"strings"
)

// maxTailBytes bounds how much of a log file lastLogLines reads.
const maxTailBytes = 16 << 10

// lastLines returns the last n non-empty lines of s, each indented by two
// spaces, for embedding in error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			kept = append(kept, "  "+l)
		}
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	if len(kept) == 0 {
		return "  (no output)"
	}
	return strings.Join(kept, "\n")
}

// readLogSince returns what was appended to the file at path after byte
// offset from, limited to the last maxTailBytes bytes.
func readLogSince(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from = max(from, fi.Size()-maxTailBytes, 0)
	if from >= fi.Size() {
		return ""
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, fi.Size()-from))
	if err != nil {
		return ""
	}
	return string(b)
}
