package desktop

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/godbus/dbus/v5"
)

const sessionBusEnv = "DBUS_SESSION_BUS_ADDRESS"

// noBus is an address of no transport: a connection to it fails at once,
// starting nothing.
const noBus = "none:"

// NoBusAutolaunch keeps godbus (the tray, notifications, the keychain) from
// starting a session bus of its own when none is known: dbus-launch's
// daemon would outlive this process and hold its environment. It points
// DBUS_SESSION_BUS_ADDRESS at the bus socket in $XDG_RUNTIME_DIR (or
// /run/user/UID) when there is one, and at no bus otherwise, and reports
// whether there is a session bus.
func NoBusAutolaunch() bool {
	if a := os.Getenv(sessionBusEnv); a == noBus {
		return false
	} else if a != "" && a != "autolaunch:" {
		return true
	}
	for _, dir := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/run/user/" + strconv.Itoa(os.Getuid())} {
		if dir == "" {
			continue
		}
		bus := filepath.Join(dir, "bus")
		if fi, err := os.Stat(bus); err == nil && fi.Mode().Type() == os.ModeSocket {
			os.Setenv(sessionBusEnv, "unix:path="+dbus.EscapeBusAddressValue(bus))
			return true
		}
	}
	os.Setenv(sessionBusEnv, noBus)
	return false
}
