package proxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Listen listens on a. A unix socket is made 0600 in a directory that
// only this user may enter (created 0700 when missing); a socket left
// there by an agent that died is replaced.
func Listen(a Address) (net.Listener, error) {
	var ln net.Listener
	var err error
	switch a.Network {
	case "unix":
		ln, err = listenUnix(a.Addr)
	case "tcp":
		ln, err = net.Listen("tcp", a.Addr)
	default:
		err = fmt.Errorf("unknown network %q", a.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("proxy on %s: %w", a, err)
	}
	return &listener{Listener: ln}, nil
}

func listenUnix(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the directory %s is open to other users (mode %v); put the socket in a private one, or chmod 700 %s", dir, fi.Mode().Perm(), dir)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket; choose another path", path)
		}
		// A live server there would answer; a dead one left its socket.
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("another program listens on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// listener hands out conns that find out who is on the other end.
type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// conn is an accepted connection. Its peer is looked up at the first
// request, on the connection's own goroutine, so that a slow lookup never
// holds up accepting others.
type conn struct {
	net.Conn
	once   sync.Once
	peer   Peer
	err    error
	record sync.Once // the access hook, at the first request served
}

func (c *conn) lookup() (Peer, error) {
	c.once.Do(func() { c.peer, c.err = peerOf(c.Conn) })
	return c.peer, c.err
}
