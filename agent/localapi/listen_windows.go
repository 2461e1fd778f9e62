package localapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// On Windows the LocalAPI and the GUI's socket are named pipes: AF_UNIX
// came late to Windows and not at all to Wine. The socket path a caller
// has (SocketPath, GUISocketPath, a test's temporary directory) names the
// pipe, so callers speak in paths on every system.

// pipeName is the named pipe that stands for the socket path on Windows:
// \\.\pipe\tokentray-<this user's SID>-<a digest of the path>.
func pipeName(socket string) (string, error) {
	sid, err := currentUser()
	if err != nil {
		return "", err
	}
	// NTFS paths are case-insensitive: one path, one pipe.
	digest := sha256.Sum256([]byte(strings.ToLower(filepath.Clean(socket))))
	return `\\.\pipe\tokentray-` + sid.String() + "-" + hex.EncodeToString(digest[:6]), nil
}

// listenSocket creates the pipe for path, which only this user may open.
// Creating it fails while another process has it, so a pipe made first by
// someone else cannot be taken over.
func listenSocket(path string) (net.Listener, error) {
	sid, err := currentUser()
	if err != nil {
		return nil, err
	}
	name, err := pipeName(path)
	if err != nil {
		return nil, err
	}
	// Protected (P: nothing inherited), one entry: all access (GA) for
	// this user. Everyone else, administrators too, is denied.
	ln, err := winio.ListenPipe(name, &winio.PipeConfig{SecurityDescriptor: "D:P(A;;GA;;;" + sid.String() + ")"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", name, err)
	}
	return parkOnFirstInstance(ln, name), nil
}

// parkOnFirstInstance connects a client of our own to the pipe's first
// instance, which go-winio keeps for itself and never accepts on: Windows
// refuses clients there, but Wine (and Windows 7) let the next client in,
// where it would wait forever (microsoft/go-winio#313). Where Windows
// refuses, nothing is parked.
func parkOnFirstInstance(ln net.Listener, name string) net.Listener {
	path, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return ln
	}
	parked, err := windows.CreateFile(path, 0, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return ln
	}
	return &parkedListener{Listener: ln, parked: parked}
}

// parkedListener is a pipe listener with our client on its first instance.
type parkedListener struct {
	net.Listener
	parked windows.Handle
	// A handle closed twice could close another that reused its number.
	closeParked sync.Once
}

func (l *parkedListener) Close() error {
	err := l.Listener.Close()
	l.closeParked.Do(func() { windows.CloseHandle(l.parked) })
	return err
}

// dialOwn connects to the pipe for path, only when a process of this user
// serves it: a pipe of that name made by another user would otherwise be
// told the tokens this client asks for.
func dialOwn(ctx context.Context, dialer *net.Dialer, path string) (net.Conn, error) {
	name, err := pipeName(path)
	if err != nil {
		return nil, err
	}
	if dialer.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialer.Timeout)
		defer cancel()
	}
	conn, err := winio.DialPipeContext(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkServer(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w %s: %v", errForeignPeer, name, err)
	}
	return conn, nil
}

// errOtherUser means the pipe's server runs as another user.
var errOtherUser = errors.New("the pipe is served by another user's process: refusing to talk to it")

// checkServer accepts the pipe only when its server runs as this user.
func checkServer(conn net.Conn) error {
	pipe, ok := conn.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("a pipe of type %T has no handle to check", conn)
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(windows.Handle(pipe.Fd()), &pid); err != nil {
		return fmt.Errorf("finding the pipe's server: %w", err)
	}
	return checkProcessUser(pid)
}

// checkProcessUser accepts process pid only when it runs as this user.
func checkProcessUser(pid uint32) error {
	owner, err := processUser(pid)
	if err != nil {
		// Another user's process cannot be opened by this one.
		return fmt.Errorf("%w (%v)", errOtherUser, err)
	}
	me, err := currentUser()
	if err != nil {
		return err
	}
	if !owner.Equals(me) {
		return errOtherUser
	}
	return nil
}

// processUser is the user a process runs as.
func processUser(pid uint32) (*windows.SID, error) {
	process, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(process)
	var token windows.Token
	if err := windows.OpenProcessToken(process, windows.TOKEN_QUERY, &token); err != nil {
		return nil, err
	}
	defer token.Close()
	user, err := token.GetTokenUser()
	if err != nil {
		return nil, err
	}
	return user.User.Sid.Copy()
}

// currentUser is the user this process runs as.
func currentUser() (*windows.SID, error) {
	token, err := windows.OpenCurrentProcessToken()
	if err != nil {
		return nil, fmt.Errorf("reading this process's user: %w", err)
	}
	defer token.Close()
	user, err := token.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading this process's user: %w", err)
	}
	return user.User.Sid.Copy()
}
