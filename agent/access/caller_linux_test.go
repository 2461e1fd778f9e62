package access

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tokentray/tokentray/internal/testkit"
)

// A process is named by its executable; this one, running the same file
// as the agent would, by the process that ran it.
func TestCaller(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sleep, _ := filepath.EvalSymlinks(cmd.Path)
	if pid, exe := Caller(cmd.Process.Pid); pid != cmd.Process.Pid || exe != sleep {
		t.Errorf("Caller(sleep) = %d %q; want %d %q", pid, exe, cmd.Process.Pid, sleep)
	}
	parent, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", os.Getppid()))
	if pid, exe := Caller(os.Getpid()); pid != os.Getppid() || exe != parent {
		t.Errorf("Caller(own executable) = %d %q; want the parent %d %q", pid, exe, os.Getppid(), parent)
	}
}

func TestSocketPID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, _ := testkit.Connect(t, ln)
	f, _ := c.(*net.TCPConn).File()
	defer f.Close()
	var inode uint64
	link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if _, err := fmt.Sscanf(link, "socket:[%d]", &inode); err != nil {
		t.Fatalf("fd link %q: %v", link, err)
	}
	if pid := SocketPID(inode); pid != os.Getpid() {
		t.Errorf("SocketPID = %d; want this process, %d", pid, os.Getpid())
	}
	if pid := SocketPID(1 << 62); pid != 0 {
		t.Errorf("SocketPID of no socket = %d", pid)
	}
}
