package localapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/tokentray/tokentray/store/privdir"
)

// ErrAlreadyRunning means another agent answers on the socket.
var ErrAlreadyRunning = errors.New("a Tokentray agent is already running")

// Listen claims the LocalAPI socket until the listener is closed. The
// single-instance lock is agent.lock beside the socket, a file lock that
// the OS holds for as long as the agent's process lives, stopped or hung
// too, and releases when it ends: while another process holds it, Listen
// returns ErrAlreadyRunning, however many start at once and whether or not
// the holder answers. A socket left by an agent that died is replaced.
// Closing the listener removes the socket, then releases the lock. On
// Windows the socket is a named pipe (see listen_windows.go).
func Listen(socket string) (net.Listener, error) {
	lock := flock.New(filepath.Join(filepath.Dir(socket), "agent.lock"), flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDONLY|privdir.NoFollow))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("the agent's single-instance lock: %w", err)
	}
	if !locked {
		return nil, ErrAlreadyRunning
	}
	ln, err := listenSocket(socket)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return lockedListener{ln, lock}, nil
}

// lockedListener holds the single-instance lock while it listens.
type lockedListener struct {
	net.Listener
	lock *flock.Flock
}

// Close stops listening and removes the socket (the unix listener does),
// and only then releases the lock, so that no agent starting meanwhile has
// its new socket removed.
func (l lockedListener) Close() error {
	err := l.Listener.Close()
	l.lock.Close()
	return err
}

// Dial makes a bare connection to the agent at socket, as a Client does:
// a unix socket, or on Windows the named pipe, served by this user.
func Dial(ctx context.Context, socket string) (net.Conn, error) {
	return dialOwn(ctx, &net.Dialer{Timeout: 2 * time.Second}, socket)
}
