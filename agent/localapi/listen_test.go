package localapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// serveStatus answers GET /v1/status on socket as an agent does.
func serveStatus(t *testing.T, socket string) net.Listener {
	t.Helper()
	ln, err := Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"version":"test","pid":1}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}

func TestListenIsSingleInstance(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "agent.sock")
	serveStatus(t, socket)
	if s, err := NewClient(socket).Status(context.Background()); err != nil || s.Version != "test" {
		t.Fatalf("Status from the listening agent: %+v, %v", s, err)
	}
	if _, err := Listen(socket); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("a second Listen: %v, want ErrAlreadyRunning", err)
	}
}

// An agent that stopped leaves its socket (or pipe) free for the next.
func TestListenAfterAgentStopped(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "agent.sock")
	serveStatus(t, socket).Close()
	if _, err := NewClient(socket).Status(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Status after the agent stopped: %v, want ErrNotRunning", err)
	}
	serveStatus(t, socket)
}

func TestClientWithoutAgent(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "agent.sock"))
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("got %v, want ErrNotRunning", err)
	}
}
