package localapi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

func TestPipeNamePerUserAndPath(t *testing.T) {
	me, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agent, _ := pipeName(filepath.Join(dir, "agent.sock"))
	gui, _ := pipeName(filepath.Join(dir, "gui.sock"))
	upper, _ := pipeName(strings.ToUpper(filepath.Join(dir, "agent.sock")))
	if prefix := `\\.\pipe\tokentray-` + me.String() + "-"; !strings.HasPrefix(agent, prefix) {
		t.Errorf("pipe %q does not start with %q", agent, prefix)
	}
	if agent == gui {
		t.Errorf("the agent and the window share the pipe %q", agent)
	}
	if agent != upper {
		t.Errorf("one path in two cases names two pipes: %q, %q", agent, upper)
	}
}

// The pipe's DACL is protected and has one entry: this user, all access.
func TestPipeAdmitsOnlyThisUser(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "agent.sock")
	serveStatus(t, socket)
	name, err := pipeName(socket)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := winio.DialPipeAccess(context.Background(), name, windows.GENERIC_READ|windows.READ_CONTROL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := windows.Handle(conn.(interface{ Fd() uintptr }).Fd())
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	control, _, err := sd.Control()
	if err != nil {
		t.Fatal(err)
	}
	if control&windows.SE_DACL_PROTECTED == 0 {
		t.Error("the pipe's DACL inherits entries")
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("the pipe has no DACL (%v): everyone may open it", err)
	}
	if dacl.AceCount != 1 {
		t.Fatalf("the pipe's DACL has %d entries, want 1 (this user)", dacl.AceCount)
	}
	var ace *windows.ACCESS_ALLOWED_ACE
	if err := windows.GetAce(dacl, 0, &ace); err != nil {
		t.Fatal(err)
	}
	me, _ := currentUser()
	sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
	if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || !sid.Equals(me) {
		t.Errorf("the pipe's one entry is type %d for %s, want allowed for %s", ace.Header.AceType, sid, me)
	}
}

// A client talks to a pipe served by this user and to no other.
func TestDialChecksTheServersUser(t *testing.T) {
	if err := checkProcessUser(uint32(os.Getpid())); err != nil {
		t.Errorf("this process: %v", err)
	}
	// System's on Windows; under Wine, no process: neither is this user's.
	const system = 4
	if err := checkProcessUser(system); !errors.Is(err, errOtherUser) {
		t.Errorf("the System process: %v, want errOtherUser", err)
	}
}

// Closing the listener twice, as an agent's shutdown may, closes nothing
// else: the handle number of its parked client is soon another's.
func TestListenerClosesOnce(t *testing.T) {
	ln := serveStatus(t, filepath.Join(t.TempDir(), "agent.sock"))
	ln.Close()
	path := filepath.Join(t.TempDir(), "opened-between")
	if err := os.WriteFile(path, []byte("still open"), 0o600); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for range 8 {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	ln.Close()
	for _, f := range files {
		if _, err := f.Stat(); err != nil {
			t.Fatalf("a file opened between two Closes: %v", err)
		}
	}
}
