//go:build !windows

package localapi

import (
	"context"
	"fmt"
	"net"
)

// dialOwn connects to the unix socket at path when a process of this user
// listens there.
func dialOwn(ctx context.Context, dialer *net.Dialer, socket string) (net.Conn, error) {
	conn, err := dialer.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(conn.(*net.UnixConn)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w %s: %v", errForeignPeer, socket, err)
	}
	return conn, nil
}
