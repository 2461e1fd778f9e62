// Package testkit holds what the tests of several packages share: a buffer
// safe for a logger and a test to use at once, polling for a condition,
// waiting for a value on a channel or for its absence, a connection with
// both its ends, an HTTP request with its whole answer, and the guard for
// tests that need the private desktop session.
package testkit

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer that a logger may write while a test reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Receive takes the next value on ch; without one within, it fails t
// with failure and stops the test.
func Receive[T any](t testing.TB, ch <-chan T, within time.Duration, failure string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatal(failure)
	}
}

// NoReceive marks t failed with failure if a value comes on ch within
// during: for something that must happen only once, after Receive.
func NoReceive[T any](t testing.TB, ch <-chan T, during time.Duration, failure string) {
	t.Helper()
	select {
	case <-ch:
		t.Error(failure)
	case <-time.After(during):
	}
}

// Connect dials ln and accepts the connection: the tests that look a
// socket up by its ends need both. Both close when the test ends.
func Connect(tb testing.TB, ln net.Listener) (client, server net.Conn) {
	tb.Helper()
	client, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { server.Close() })
	return client, server
}

// RoundTrip sends req with c and reads the whole answer, failing t if it
// cannot be sent.
func RoundTrip(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// Patience is how long Eventually waits. It only guards against a hung
// test, so it is generous: a loaded machine must not fail a test that
// would pass.
const Patience = 30 * time.Second

// Eventually polls cond until it holds, and fails t naming what it waited
// for if it does not within Patience.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Poll(Patience, cond) {
		t.Fatalf("gave up after %v waiting for %s", Patience, what)
	}
}

// Poll calls cond until it holds or within has passed, and reports whether
// it held: for a test whose failure says more than Eventually's, or which
// goes on after it. It polls often at first, so that a condition about to
// hold costs no fixed delay, then every 50 ms, so that a slow one does not
// load the machine. Inside a testing/synctest bubble its sleeps are the
// bubble's.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
}

// Needs says what of the desktop session a test uses.
type Needs uint8

const (
	Display    Needs = 1 << iota // an X display: DISPLAY
	SessionBus                   // a D-Bus session bus (with its Secret Service): DBUS_SESSION_BUS_ADDRESS
)

// sessionEnv is set by .ci/desktop-session for the commands it runs.
const sessionEnv = "TOKENTRAY_DESKTOP_SESSION"

// RequireDesktop skips t outside .ci/desktop-session when the environment
// lacks what it needs, and fails it inside one that lacks it: `make test`
// runs in the session, so there a missing display or bus is a broken
// session, never a reason to skip silently.
func RequireDesktop(t testing.TB, needs Needs) {
	t.Helper()
	var missing []string
	if needs&Display != 0 && os.Getenv("DISPLAY") == "" {
		missing = append(missing, "an X display (DISPLAY)")
	}
	if needs&SessionBus != 0 && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		missing = append(missing, "a session bus (DBUS_SESSION_BUS_ADDRESS)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv(sessionEnv) == "1" {
		t.Fatalf("inside .ci/desktop-session but %v is missing: the session is broken", missing)
	}
	t.Skipf("needs %v: run through .ci/desktop-session (make test does), e.g. .ci/desktop-session go test ./...", missing)
}
