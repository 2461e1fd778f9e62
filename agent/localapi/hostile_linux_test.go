package localapi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/internal/testkit/otheruser"
)

// otherUser returns the second local user, skipping t where the
// attacker's tool is missing: the other user runs Python, and a python3 of
// root's own (pyenv under /root) is out of their reach.
func otherUser(t *testing.T) (uid, gid int) {
	t.Helper()
	uid, gid = otheruser.Lookup(t)
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("needs %s for the other user's processes", systemPython)
	}
	return uid, gid
}

const systemPython = "/usr/bin/python3"

// The window's socket is 0600 whatever the umask, and a connection from
// another user, should it reach the socket, shows nothing.
func TestGUISocketIsThisUsersOnly(t *testing.T) {
	uid, gid := otherUser(t)
	run := otheruser.SharedDir(t)
	t.Setenv("XDG_RUNTIME_DIR", run)
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	shown := make(chan struct{}, 4)
	ln, err := ListenGUI(func() { shown <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path, _ := GUISocketPath()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("gui.sock has mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// As if the directory and socket were open to everyone.
	if err := os.Chmod(filepath.Dir(path), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	out, err := otheruser.Command(uid, gid, systemPython, "-c", `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.send(b"s")  # refused peers are hung up on, perhaps before this
except BrokenPipeError:
    pass
s.close()`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("connecting as the other user: %v: %s", err, out)
	}
	testkit.NoReceive(t, shown, 2*guiReadWait, "another user's connection showed the window")
}

// A server of another uid at the socket path (root with this user's
// XDG_RUNTIME_DIR) is no agent: the client gets ErrNotRunning, never its
// token.
func TestClientRefusesAnotherUsersServer(t *testing.T) {
	uid, gid := otherUser(t)
	socket := filepath.Join(otheruser.SharedDir(t), "agent.sock")
	server := otheruser.Command(uid, gid, systemPython, "-c", `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
print("ready", flush=True)
body = b'{"profile":"p","access_token":"planted-token","expiry":"2099-01-01T00:00:00Z"}'
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    c.close()`, socket)
	otheruser.Start(t, server, "server", "ready")
	tok, err := NewClient(socket).Token(context.Background(), "p")
	if !errors.Is(err, ErrNotRunning) || tok.AccessToken != "" {
		t.Errorf("Token from another user's server = %q, %v; want ErrNotRunning", tok.AccessToken, err)
	}
}
