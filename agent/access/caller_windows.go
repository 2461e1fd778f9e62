package access

import (
	"net"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// PeerPID is the pid of the client at the other end of a LocalAPI named
// pipe connection; 0 when it cannot be told.
func PeerPID(c net.Conn) int {
	pipe, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return 0
	}
	var pid uint32
	if windows.GetNamedPipeClientProcessId(windows.Handle(pipe.Fd()), &pid) != nil {
		return 0
	}
	return int(pid)
}

// SocketPID is for unix sockets, which the agent does not listen on here.
func SocketPID(uint64) int { return 0 }

// Caller names the process pid and the executable it runs. A tokentray
// process is only the messenger: its parent (the script or shell that ran
// it) is named instead.
func Caller(pid int) (int, string) {
	if pid <= 0 {
		return 0, ""
	}
	exe := executable(pid)
	if self, err := os.Executable(); err == nil && exe != "" && strings.EqualFold(exe, self) {
		if ppid := parentPID(pid); ppid > 0 {
			pid, exe = ppid, executable(ppid)
		}
	}
	return pid, exe
}

// executable is the path of the program process pid runs, "" when it
// cannot be read.
func executable(pid int) string {
	process, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(process)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(process, 0, &buf[0], &n) != nil {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}

// parentPID is the pid of the process that started pid, 0 when unknown.
func parentPID(pid int) int {
	snapshot, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(snapshot)
	entry := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snapshot, &entry); err == nil; err = windows.Process32Next(snapshot, &entry) {
		if int(entry.ProcessID) == pid {
			return int(entry.ParentProcessID)
		}
	}
	return 0
}

// Self names this process as Caller names others.
func Self() (int, string) {
	exe, _ := os.Executable()
	return os.Getpid(), exe
}
