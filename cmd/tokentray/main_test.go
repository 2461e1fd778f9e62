package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the tokentray executable built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	// Under Wine there is no go to build with: `make test-windows` builds
	// the executable beforehand and says where.
	if binary = os.Getenv("TOKENTRAY_BINARY"); binary != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tokentray-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tokentray")
	build := exec.Command("go", "build", "-o", binary, ".")
	// Built as the Makefile ships it, so the tests run what users get.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tokentray:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"add"}, {"token"}, {"add", "x", "--bogus"}} {
		cmd := exec.Command(binary, args...)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitUsage {
			t.Errorf("tokentray %q: %v, want exit %d; output %q", args, err, exitUsage, out)
		}
	}
}
