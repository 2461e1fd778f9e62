//go:build !windows

package localapi

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestListenSocketIsThisUsers(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "agent.sock")
	serveStatus(t, socket)
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "agent.sock")
	// A socket file nobody listens on, as a crashed agent leaves it.
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln, err = Listen(socket)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
}
