// Package test holds distgres's end-to-end tests: real PostgreSQL data
// nodes, a real coordinator and real client drivers.
package test

import (
	"os"
	"testing"

	"github.com/distgres/distgres/test/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}
