package desktop

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// notifyTimeout bounds one Notify call: a notification server answers at
// once or not at all.
const notifyTimeout = 10 * time.Second

// Notify shows a desktop notification through org.freedesktop.Notifications
// on the session bus.
func Notify(summary, body string) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return fmt.Errorf("no session bus to notify on: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(byte(1)), // normal: it waits for the user, it is not an alarm
		"desktop-entry": dbus.MakeVariant("io.github.tokentray"),
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	var id uint32
	err = obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		"Tokentray", uint32(0), "dialog-warning", summary, body, []string{}, hints, int32(-1)).Store(&id)
	if err != nil {
		return fmt.Errorf("desktop notification: %w", err)
	}
	return nil
}
