//go:build !linux && !windows

package access

import (
	"net"
	"os"
)

// PeerPID cannot tell the peer here: records carry no process.
func PeerPID(net.Conn) int { return 0 }

// SocketPID cannot tell the owner of a socket here.
func SocketPID(uint64) int { return 0 }

// Caller cannot name the executable here; the pid is kept.
func Caller(pid int) (int, string) { return max(pid, 0), "" }

// Self names this process as Caller names others: its pid.
func Self() (int, string) { return os.Getpid(), "" }
