package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/internal/testkit"
)

// A flood of connections that send nothing neither exhausts the agent's
// descriptors nor keeps the CLI waiting: past maxConns the longest waiting
// are closed, and a request is answered at once.
func TestIdleConnectionsAreCapped(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	client, _, socket := serve(t, filepath.Join(t.TempDir(), "config.json"))
	const flood = 1000
	conns := make([]net.Conn, 0, flood)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range flood {
		c, err := localapi.Dial(t.Context(), socket)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// Within Status's one-second deadline; accepted after the flood, so
	// every connection of the flood has been accepted (and judged) by then.
	if _, err := client.Status(context.Background()); err != nil {
		t.Fatalf("Status with %d idle connections open: %v", flood, err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open > maxConns {
		t.Errorf("%d of %d idle connections are still open; want at most %d", open, flood, maxConns)
	}
}

// Event streams are capped, and a request is still answered with every one
// of them taken.
func TestEventStreamsAreCapped(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	client, _, socket := serve(t, filepath.Join(t.TempDir(), "config.json"))
	stream := func() (net.Conn, int) {
		t.Helper()
		c, err := localapi.Dial(t.Context(), socket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprint(c, "GET /v1/events HTTP/1.1\r\nHost: agent\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, resp.StatusCode
	}
	for i := range maxEventStreams {
		if _, status := stream(); status != http.StatusOK {
			t.Fatalf("event stream %d: %d", i+1, status)
		}
	}
	if _, status := stream(); status != http.StatusServiceUnavailable {
		t.Errorf("an event stream past the cap: %d, want 503", status)
	}
	if _, err := client.Status(context.Background()); err != nil {
		t.Errorf("Status with every event stream taken: %v", err)
	}
}

// A reader that stops reading its event stream is dropped once a write
// waits eventWriteWait, instead of holding a goroutine and a descriptor.
func TestStalledEventReaderIsDropped(t *testing.T) {
	t.Parallel()
	_, srv, socket := serve(t, filepath.Join(t.TempDir(), "config.json"))
	c, err := localapi.Dial(t.Context(), socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /v1/events HTTP/1.1\r\nHost: agent\r\n\r\n")
	waitUntil(t, "the stream to start", 10*time.Second, func() bool { return srv.streams.Load() == 1 })
	// Far more than the socket's buffers hold, never read.
	big := strings.Repeat("x", 32<<10)
	for range eventBuffer {
		srv.Tokens.publish(auth.Event{Profile: "p", Err: big})
	}
	waitUntil(t, "the stalled stream to be dropped", eventWriteWait+20*time.Second, func() bool { return srv.streams.Load() == 0 })
}

// waitUntil polls cond; the bound only guards against a hung test.
func waitUntil(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	if !testkit.Poll(bound, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}
