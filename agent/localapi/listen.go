package localapi

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

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
// Closing the listener removes the socket, then releases the lock.
func Listen(socket string) (net.Listener, error) {
	lock := flock.New(filepath.Join(filepath.Dir(socket), "agent.lock"), flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDONLY|privdir.NoFollow))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("the agent's single-instance lock: %w", err)
	}
	if !locked {
		return nil, ErrAlreadyRunning
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, err
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("listening on %s: %w", socket, err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		lock.Close()
		return nil, err
	}
	return lockedListener{sameUserOnly{ln.(*net.UnixListener)}, lock}, nil
}

// lockedListener holds the single-instance lock while it listens.
type lockedListener struct {
	sameUserOnly
	lock *flock.Flock
}

// Close stops listening and removes the socket (the unix listener does),
// and only then releases the lock, so that no agent starting meanwhile has
// its new socket removed.
func (l lockedListener) Close() error {
	err := l.sameUserOnly.Close()
	l.lock.Close()
	return err
}

// sameUserOnly drops connections from other users. The 0700 directory
// already keeps them out; this holds even where the directory is shared.
type sameUserOnly struct{ *net.UnixListener }

func (l sameUserOnly) Accept() (net.Conn, error) {
	for {
		conn, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(conn); err != nil {
			log.Printf("LocalAPI: refused a connection: %v", err)
			conn.Close()
			continue
		}
		return conn, nil
	}
}
