//go:build !windows

package agent

// trayIcon is png as the tray takes it: as it is, outside Windows.
func trayIcon(png []byte) []byte { return png }
