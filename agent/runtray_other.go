//go:build !linux

package agent

import "fyne.io/systray"

// runTray shows the tray until quitted is closed. Elsewhere systray runs
// the platform's own loop (Windows' message loop) and registers the icon
// before it calls OnReady, so the menu follows the states from there.
func runTray(tray *Tray, quitted <-chan struct{}, onExit func()) {
	go func() {
		<-quitted
		systray.Quit()
	}()
	systray.Run(func() {
		tray.OnReady()
		tray.Start()
	}, onExit)
}
