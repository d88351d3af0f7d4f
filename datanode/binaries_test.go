package datanode

import (
	"errors"
	"strings"
	"testing"
)

func TestFindBinariesEnv(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(BinDirEnv, empty)
	_, err := FindBinaries()
	if err == nil {
		t.Fatal("FindBinaries with an empty DISTGRES_PG_BINDIR succeeded")
	}
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Errorf("error does not match ErrBinariesNotFound: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"initdb", "postgres", "not found", "install the postgresql package", BinDirEnv, empty} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}

	t.Setenv(BinDirEnv, testBin.Dir)
	bin, err := FindBinaries()
	if err != nil || bin.Dir != testBin.Dir {
		t.Errorf("FindBinaries with DISTGRES_PG_BINDIR=%s = %v, %v", testBin.Dir, bin, err)
	}
}

func TestMajorVersion(t *testing.T) {
	v, err := testBin.MajorVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v < 10 {
		t.Errorf("MajorVersion = %d", v)
	}
}

func TestParseServerVersion(t *testing.T) {
	for in, want := range map[string]int{
		"postgres (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)\n": 15,
		"postgres (PostgreSQL) 16beta1":                          16,
		"postgres (PostgreSQL) 9.6.24":                           9,
	} {
		got, err := parseServerVersion(in)
		if err != nil || got != want {
			t.Errorf("parseServerVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseServerVersion("something else"); err == nil {
		t.Error("parseServerVersion accepted garbage")
	}
}
