package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth/authtest"
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

// tokentray runs the built executable to completion.
func tokentray(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running tokentray %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// checkChildToken checks that file, where a child of tokentray exec wrote
// its TOKENTRAY_TOKEN, holds a token server accepts, and that tokentray's
// output does not show it.
func checkChildToken(t *testing.T, file string, server *authtest.IdentityServer, output string) {
	t.Helper()
	got, err := os.ReadFile(file)
	if err != nil || !server.Accepts(string(got)) {
		t.Fatalf("TOKENTRAY_TOKEN in the child is not a token the server accepts (%v)", err)
	}
	if strings.Contains(output, string(got)) {
		t.Error("exec printed the token")
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"add"}, {"token"}, {"add", "x", "--bogus"}, {"list", "extra"}, {"device", "extra"}, {"doctor", "extra"}, {"access", "work", "extra"}} {
		cmd := exec.Command(binary, args...)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitUsage {
			t.Errorf("tokentray %q: %v, want exit %d; output %q", args, err, exitUsage, out)
		}
	}
}
