package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// cannotStart returns why the session bus could not start the Secret
// Service, when err says so: nothing provides it, its program failed, or
// its activation timed out (after the bus's own timeout, 25 s to 2 min).
// Each keychain call would try again and wait as long, so the gate
// remembers it; nil for any other error.
func cannotStart(err error) error {
	var e dbus.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch {
	case e.Name == "org.freedesktop.DBus.Error.ServiceUnknown",
		e.Name == "org.freedesktop.DBus.Error.TimedOut",
		strings.HasPrefix(e.Name, "org.freedesktop.DBus.Error.Spawn."):
	default:
		return nil
	}
	return &keychainDown{fmt.Errorf("the keychain (Secret Service, %s) could not be started on the session bus: %w; start or install a Secret Service (gnome-keyring, or KWallet with its Secret Service enabled) and try again, or keep the secrets in a file with 'tokentray secrets file'", secretsBus, err)}
}
