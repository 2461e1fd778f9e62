//go:build !windows

package localapi

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
)

// listenSocket listens on the unix socket at path, for this user only. A
// socket file left at path is replaced: callers have checked that nobody
// answers on it.
func listenSocket(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
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
