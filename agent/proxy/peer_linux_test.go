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

	"github.com/tokentray/tokentray/internal/testkit"
)

// The kernel names the client's socket: its owner and its
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

// Socket diagnostics and the text table name the same owner and socket,
// on both families, so either may answer.
func TestDiagAndTableAgree(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		ln, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Logf("%s: %v; skipped", host, err)
			continue
		}
		defer ln.Close()
		_, server := testkit.Connect(t, ln)
		client, local := server.RemoteAddr().(*net.TCPAddr), server.LocalAddr().(*net.TCPAddr)
		fromDiag, err := diagOwner(client.AddrPort(), local.AddrPort())
		if err != nil {
			t.Fatalf("%s: socket diagnostics: %v", host, err)
		}
		fromTable, err := tableOwner(client.AddrPort(), local.AddrPort())
		if err != nil {
			t.Fatalf("%s: socket table: %v", host, err)
		}
		if fromDiag != fromTable || fromDiag.UID != os.Getuid() || fromDiag.Inode == 0 {
			t.Errorf("%s: diagnostics say %+v, the table %+v; want both uid %d and the client's socket", host, fromDiag, fromTable, os.Getuid())
		}
		// The reverse direction is the server's socket, another inode.
		if reverse, err := diagOwner(local.AddrPort(), client.AddrPort()); err == nil && reverse.Inode == fromDiag.Inode {
			t.Errorf("%s: the server's socket has the client's inode %d", host, reverse.Inode)
		}
	}
}

// BenchmarkPeerLookup is the cost of finding a client's owner once per
// connection, by each way, with as many sockets as the machine has.
func BenchmarkPeerLookup(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	_, server := testkit.Connect(b, ln)
	client, local := server.RemoteAddr().(*net.TCPAddr), server.LocalAddr().(*net.TCPAddr)
	b.Run("diag", func(b *testing.B) {
		for b.Loop() {
			if _, err := diagOwner(client.AddrPort(), local.AddrPort()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			if _, err := tableOwner(client.AddrPort(), local.AddrPort()); err != nil {
				b.Fatal(err)
			}
		}
	})
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
