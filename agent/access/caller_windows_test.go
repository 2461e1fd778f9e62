package access

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Caller names another program by its pid and executable.
func TestCallerNamesTheProgram(t *testing.T) {
	child := exec.Command("cmd.exe", "/c", "pause")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	pid, exe := Caller(child.Process.Pid)
	if pid != child.Process.Pid || !strings.EqualFold(filepath.Base(exe), "cmd.exe") {
		t.Errorf("Caller(%d) = %d, %q; want cmd.exe's pid and path", child.Process.Pid, pid, exe)
	}
	if pid, exe := Caller(0); pid != 0 || exe != "" {
		t.Errorf("Caller(0) = %d, %q; want nobody", pid, exe)
	}
}
