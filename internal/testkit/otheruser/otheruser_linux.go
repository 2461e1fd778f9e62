package otheruser

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"testing"
)

// Name is the system user the tests act as; useradd makes it when missing.
const Name = "tokentray-other"

// Lookup returns the second local user to attack with, made with useradd
// when missing. It skips t where that cannot be: not root, or no useradd,
// setpriv or one of the tools the test runs as that user.
func Lookup(t testing.TB, tools ...string) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to add and act as a second local user (useradd, setpriv); CI runs tests as root")
	}
	for _, tool := range append([]string{"useradd", "setpriv"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s to act as a second local user", tool)
		}
	}
	u, err := user.Lookup(Name)
	if err != nil {
		// Another test binary may add it at the same moment: look again.
		out, addErr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Name).CombinedOutput()
		if u, err = user.Lookup(Name); err != nil {
			t.Fatalf("useradd %s: %v: %s", Name, addErr, out)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// Command is a command run as uid, in a process group of its own so that
// killing the group ends its children too.
func Command(uid, gid int, args ...string) *exec.Cmd {
	cmd := exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups", "--"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// SharedDir is a directory every user may write, as /tmp (mode 1777),
// removed when t ends.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tokentray-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts cmd, made by Command, and waits until the first line it
// prints is ready, failing t naming it as what otherwise; its process group
// is killed when t ends.
func Start(t testing.TB, cmd *exec.Cmd, what, ready string) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != ready+"\n" {
		t.Fatalf("the other user's %s: %q, %v", what, line, err)
	}
}
