package desktop

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/tokentray/tokentray/internal/testkit"
)

// TestWatchNetworkDebouncesAChange brings the loopback interface up in a
// private network namespace: a burst of link and route messages that must
// make exactly one recheck.
func TestWatchNetworkDebouncesAChange(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	rechecks := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread, in its own namespace, ends with
		// this goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		// The socket belongs to the namespace of the thread making it, and
		// ip inherits it too.
		if err := watchNetwork(ctx, func() { rechecks <- struct{}{} }); err != nil {
			ready <- err
			return
		}
		ready <- exec.Command("ip", "link", "set", "lo", "up").Run()
	}()
	if err := <-ready; err != nil {
		t.Skipf("cannot make a private network namespace here: %v", err)
	}
	testkit.Receive(t, rechecks, 10*time.Second, "no recheck after the network changed")
	testkit.NoReceive(t, rechecks, 2*netDebounce, "a second recheck for one burst of changes")
}

// Only logind's PrepareForSleep means a resume: the same signal from any
// other connection on the system bus, broadcast or sent to the agent
// alone, makes no recheck.
func TestWatchResumeOnlyFromLogind(t *testing.T) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("needs dbus-daemon for a private bus")
	}
	dir := t.TempDir()
	address := "unix:path=" + filepath.Join(dir, "bus")
	// A session configuration lets the test own logind's name.
	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address="+address, "--print-address=1")
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
	connect := func() *dbus.Conn {
		conn, err := dbus.Connect(address)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	login, attacker := connect(), connect()
	if reply, err := login.RequestName(logind, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v, %v", logind, reply, err)
	}

	rechecks := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := watchResume(ctx, func() { rechecks <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	// The agent's connection is the one that is neither of these.
	var names []string
	if err := login.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		t.Fatal(err)
	}
	const member = "org.freedesktop.login1.Manager.PrepareForSleep"
	for _, name := range names {
		if strings.HasPrefix(name, ":") && name != login.Names()[0] && name != attacker.Names()[0] {
			// Sent to the agent alone, which no match rule filters.
			msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
				dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/login1")),
				dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.login1.Manager"),
				dbus.FieldMember:      dbus.MakeVariant("PrepareForSleep"),
				dbus.FieldDestination: dbus.MakeVariant(name),
				dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(false)),
			}, Body: []any{false}}
			if call := attacker.Send(msg, nil); call.Err != nil {
				t.Fatal(call.Err)
			}
		}
	}
	for range 20 {
		if err := attacker.Emit("/org/freedesktop/login1", member, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := login.Emit("/org/freedesktop/login1", member, false); err != nil {
		t.Fatal(err)
	}
	testkit.Receive(t, rechecks, 10*time.Second, "no recheck after logind's resume")
	// logind's signal came last: anything the others caused is in by now.
	if n := len(rechecks); n != 0 {
		t.Errorf("%d more rechecks: signals from another connection counted", n)
	}
}
