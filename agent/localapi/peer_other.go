//go:build !linux && !windows

package localapi

import "net"

// checkPeer relies on the socket directory's 0700 mode where peer
// credentials are not read.
func checkPeer(*net.UnixConn) error { return nil }
