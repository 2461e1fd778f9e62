//go:build !linux

package desktop

// NoBusAutolaunch reports a session bus: only Linux's tray, notifications
// and keychain use one, and only there does godbus start one itself.
func NoBusAutolaunch() bool { return true }
