package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// keychainStarted is set once the Secret Service was seen running.
var keychainStarted atomic.Bool

// startKeychain makes sure the Secret Service runs before go-keyring calls
// it, starting it through the session bus within ctx if it does not. Left
// to go-keyring, every call would start it anew, twice (its first D-Bus
// call's failure is ignored), each time waiting out the bus's activation
// timeout when the start hangs; asked here, a start that fails is
// remembered by the gate (cannotStart). A bus that cannot be reached, or
// a Secret Service nothing provides, is left to go-keyring's call, which
// fails at once in its own words (or, under keyring.MockInit, answers).
func startKeychain(ctx context.Context) error {
	if keychainStarted.Load() {
		return nil
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil
	}
	bus := conn.BusObject()
	var owned bool
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretsBus).Store(&owned); err != nil {
		return nil
	}
	if !owned {
		// Given up a little before the call's deadline, so that the gate
		// hears why and remembers it (cannotStart).
		startWait := keychainTimeout() * 9 / 10
		ctx, cancel := context.WithTimeout(ctx, startWait)
		defer cancel()
		var reply uint32
		err := bus.CallWithContext(ctx, "org.freedesktop.DBus.StartServiceByName", 0, secretsBus, uint32(0)).Store(&reply)
		var e dbus.Error
		switch {
		case errors.As(err, &e) && e.Name == "org.freedesktop.DBus.Error.ServiceUnknown":
			return nil
		case ctx.Err() != nil:
			return notStarted(fmt.Errorf("it did not start within %s", startWait))
		case err != nil:
			return notStarted(err)
		}
	}
	keychainStarted.Store(true)
	return nil
}

// cannotStart returns the error to remember when err says the session bus
// could not start the Secret Service: its program failed or did not take
// the name in time. nil for any other error.
func cannotStart(err error) error {
	var down *keychainDown
	if errors.As(err, &down) && down.notStarted {
		return err
	}
	var e dbus.Error
	if errors.As(err, &e) && (e.Name == "org.freedesktop.DBus.Error.TimedOut" || strings.HasPrefix(e.Name, "org.freedesktop.DBus.Error.Spawn.")) {
		return notStarted(err)
	}
	return nil
}

func notStarted(err error) error {
	return &keychainDown{err: fmt.Errorf("the keychain (Secret Service, %s) could not be started on the session bus: %w; start it or install one (gnome-keyring, or KWallet with its Secret Service enabled) and try again, or keep the secrets in a file with 'tokentray secrets file'", secretsBus, err), notStarted: true}
}
