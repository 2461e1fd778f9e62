package localapi

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
)

// ErrAlreadyRunning means another agent answers on the socket.
var ErrAlreadyRunning = errors.New("a Tokentray agent is already running")

// Listen claims the LocalAPI socket. The socket is the single-instance lock:
// when an agent answers on it, Listen returns ErrAlreadyRunning; a socket
// left by a crashed agent is replaced.
func Listen(socket string) (net.Listener, error) {
	if _, err := NewClient(socket).Status(context.Background()); err == nil {
		return nil, ErrAlreadyRunning
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", socket, err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return sameUserOnly{ln.(*net.UnixListener)}, nil
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
