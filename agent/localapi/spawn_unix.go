//go:build !windows

package localapi

import "syscall"

// detached starts a process in its own session.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
