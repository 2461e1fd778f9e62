//go:build !linux && !windows

package desktop

import "errors"

// Notify would show a desktop notification; on this platform the tray
// icon alone tells.
func Notify(summary, body string) error {
	return errors.New("desktop notifications are not implemented on this platform")
}
