package proxy

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The kernel's socket table names the client's socket: its owner and its
// inode, which is the one the client holds.
func TestTCPPeerFromSocketTable(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer upstream.Close()
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		peers := make(chan Peer, 1)
		ln, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Logf("%s: %v; skipped", host, err)
			continue
		}
		ln.Close()
		srv := serveOn(t, Address{Network: "tcp", Addr: ln.Addr().String()}, upstream.URL, &fakeTokens{}, Options{OnConnection: func(p Peer) { peers <- p }})
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
		p := <-peers
		f, _ := c.(*net.TCPConn).File()
		link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		if p.UID != os.Getuid() || link != fmt.Sprintf("socket:[%d]", p.Inode) {
			t.Errorf("%s: peer %+v; want uid %d and the client's socket %s", host, p, os.Getuid(), link)
		}
		f.Close()
		c.Close()
	}
}

// Another user's connection is refused with 403 and a log line, and never
// gets a token nor reaches the upstream. Needs root to run curl as another
// user (CI runs as root).
func TestOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user (useradd, setpriv); CI runs as root")
	}
	for _, tool := range []string{"useradd", "setpriv", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	const name = "tokentray-other"
	other, err := user.Lookup(name)
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", name).Run() })
		if other, err = user.Lookup(name); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	log.SetOutput(writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) }))
	defer log.SetOutput(os.Stderr)

	var reached atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer upstream.Close()
	tokens := &fakeTokens{}
	proxyURL := start(t, upstream.URL, tokens, Options{})

	curl := exec.Command("setpriv", "--reuid="+other.Uid, "--regid="+other.Gid, "--clear-groups",
		"curl", "-sS", "-w", "\n%{http_code}", proxyURL+"/x")
	out, err := curl.CombinedOutput()
	if err != nil {
		t.Fatalf("curl as %s: %v: %s", name, err, out)
	}
	if !strings.HasSuffix(string(out), "\n403") || strings.Contains(string(out), "tok-") {
		t.Errorf("curl as another user got %q; want 403 and no token", out)
	}
	if reached.Load() != 0 || tokens.asked.Load() != 0 {
		t.Errorf("another user's request reached the upstream %d times and asked for a token %d times", reached.Load(), tokens.asked.Load())
	}
	logMu.Lock()
	defer logMu.Unlock()
	if want := "uid " + other.Uid + " is not this user's"; !strings.Contains(logs.String(), want) {
		t.Errorf("log %q does not say %q", logs.String(), want)
	}

	// This user, the same way, gets through.
	resp, err := http.Get(proxyURL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("this user: %d", resp.StatusCode)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
