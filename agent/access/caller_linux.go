package access

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// PeerPID is the pid of the process at the other end of a unix socket
// connection, from SO_PEERCRED; 0 when it cannot be told.
func PeerPID(c net.Conn) int {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// SocketPID finds the process holding the socket with inode among this
// user's processes; 0 when none does any more.
func SocketPID(inode uint64) int {
	if inode == 0 {
		return 0
	}
	want := fmt.Sprintf("socket:[%d]", inode)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var pids []int
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	// Newest first: a client that just connected was most likely started
	// lately, and the scan stops at it.
	slices.SortFunc(pids, func(a, b int) int { return b - a })
	for _, pid := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's, or gone
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && link == want {
				return pid
			}
		}
	}
	return 0
}

// Caller names who got a token through process pid: pid and its
// executable, or, when pid runs this very executable (Tokentray's own CLI
// asking the agent), the process that ran it, so that a script calling
// `tokentray token` shows as its interpreter.
func Caller(pid int) (int, string) {
	if pid <= 0 {
		return 0, ""
	}
	if ownExecutable(pid) {
		if ppid := parentPID(pid); ppid > 0 {
			pid = ppid
		}
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return pid, exe
}

// ownExecutable reports whether pid runs the file this process runs.
func ownExecutable(pid int) bool {
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		return false
	}
	other, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && os.SameFile(self, other)
}

// parentPID reads the parent's pid from /proc/PID/stat, whose second
// field (the command name, in parentheses) may itself hold spaces and ')'.
func parentPID(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:])) // state, ppid, …
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// Self names this process as Caller names others: its pid and executable.
func Self() (int, string) {
	exe, _ := os.Readlink("/proc/self/exe")
	return os.Getpid(), exe
}
