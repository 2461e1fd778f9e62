package proxy

import (
	"fmt"
	"net"
)

// Peer is the process at the other end of a connection, as far as the
// platform tells.
type Peer struct {
	UID int // -1 when the platform does not say
	// PID is the connecting process when the kernel says (unix sockets on
	// Linux); 0 otherwise.
	PID int
	// Inode is the client's socket on Linux TCP: the access log finds the
	// process holding it.
	Inode uint64
}

// loopbackPeer refuses a TCP peer that is not on this machine. The
// listener is on loopback, so this holds unless the system routes oddly.
func loopbackPeer(c net.Conn) error {
	tcp, ok := c.RemoteAddr().(*net.TCPAddr)
	if ok && !tcp.AddrPort().Addr().Unmap().IsLoopback() {
		return fmt.Errorf("peer %s is not on this machine", tcp)
	}
	return nil
}
