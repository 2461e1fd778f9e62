// Package storetest has fakes for the tests of packages that use the
// keychain through store: a private D-Bus session bus, and a Secret Service
// on it that takes the name and never answers, as a wedged keyring daemon
// or one waiting behind an unlock prompt nobody sees looks to a client.
package storetest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/tokentray/tokentray/internal/testkit"
)

// SecretsName is the Secret Service's well-known bus name.
const SecretsName = "org.freedesktop.secrets"

// PrivateBus starts a dbus-daemon of the test's own and returns its
// address; it stops when the test ends. services maps a bus name to the
// command line the bus runs to start it on demand (D-Bus activation).
func PrivateBus(t testing.TB, services map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("needs dbus-daemon (Debian: dbus-daemon; .ci/deps test installs it)")
	}
	dir := t.TempDir()
	servicesDir := filepath.Join(dir, "services")
	if err := os.Mkdir(servicesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, exec := range services {
		unit := fmt.Sprintf("[D-BUS Service]\nName=%s\nExec=%s\n", name, exec)
		if err := os.WriteFile(filepath.Join(servicesDir, name+".service"), []byte(unit), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <servicedir>%s</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, filepath.Join(dir, "bus"), servicesDir)
	configPath := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// Its stderr, which the services it starts inherit, is not the test's:
	// one left running would hold up the end of `go test`.
	cmd := exec.Command("dbus-daemon", "--config-file="+configPath, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	address, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(address)
}

// waitNameFree waits until no one owns SecretsName: a Secret Service just
// stopped leaves the bus a moment later.
func waitNameFree(t testing.TB, conn *dbus.Conn) {
	t.Helper()
	testkit.Eventually(t, SecretsName+" to be free", func() bool {
		var owned bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, SecretsName).Store(&owned); err != nil {
			t.Fatal(err)
		}
		return !owned
	})
}

// HangingSecretService owns SecretsName on a bus and answers no call
// made to it until Stop.
type HangingSecretService struct {
	conn    *dbus.Conn
	calls   atomic.Int64
	release chan struct{}
	stop    sync.Once
}

// NewHangingSecretService takes SecretsName on the bus at address. It
// stops when the test ends, if not before.
func NewHangingSecretService(t testing.TB, address string) *HangingSecretService {
	t.Helper()
	h := &HangingSecretService{release: make(chan struct{})}
	conn, err := dbus.Connect(address, dbus.WithHandler(h))
	if err != nil {
		t.Fatalf("connecting to %s: %v", address, err)
	}
	h.conn = conn
	waitNameFree(t, conn)
	reply, err := conn.RequestName(SecretsName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		t.Fatalf("taking %s: %v (reply %d)", SecretsName, err, reply)
	}
	t.Cleanup(h.Stop)
	return h
}

// LookupObject is where godbus looks up the object a call is for; it
// waits until Stop, so the call gets no answer.
func (h *HangingSecretService) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) {
	h.calls.Add(1)
	<-h.release
	return nil, false
}

// Calls is how many calls reached the service.
func (h *HangingSecretService) Calls() int { return int(h.calls.Load()) }

// Stop leaves the bus, which tells the callers still waiting that it left
// without answering, and frees the name for another Secret Service.
func (h *HangingSecretService) Stop() {
	h.stop.Do(func() {
		close(h.release)
		h.conn.Close()
	})
}

// GnomeKeyringPassword unlocks the keyrings StartGnomeKeyring starts.
const GnomeKeyringPassword = "test"

// StartGnomeKeyring runs a gnome-keyring-daemon as the Secret Service on
// the bus at address, its login keyring unlocked, kept under home (give
// the same home again to find the same entries). stop ends it; it stops
// when the test ends, if not before.
func StartGnomeKeyring(t testing.TB, address, home string) (stop func()) {
	t.Helper()
	if _, err := exec.LookPath("gnome-keyring-daemon"); err != nil {
		t.Skip("needs gnome-keyring-daemon (Debian: gnome-keyring; .ci/deps test installs it)")
	}
	runtimeDir := filepath.Join(home, "run")
	if err := os.MkdirAll(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.Connect(address)
	if err != nil {
		t.Fatalf("connecting to %s: %v", address, err)
	}
	defer conn.Close()
	waitNameFree(t, conn)
	cmd := exec.Command("gnome-keyring-daemon", "--unlock", "--daemonize", "--components=secrets")
	// Not the session's keyring: one found through these would be unlocked
	// instead of a new one started.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GNOME_KEYRING_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS="+address, "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+runtimeDir,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	cmd.Stdin = strings.NewReader(GnomeKeyringPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v: %s", err, out)
	}
	// It daemonizes and says nothing of its pid: the bus knows it.
	var pid uint32
	if !testkit.Poll(testkit.Patience, func() bool {
		err = conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, SecretsName).Store(&pid)
		return err == nil
	}) {
		t.Fatalf("gnome-keyring-daemon did not take %s: %v", SecretsName, err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if p, err := os.FindProcess(int(pid)); err == nil {
				p.Kill()
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
