package agent

import "fyne.io/systray"

// runTray shows the tray until quitted is closed. It starts systray's
// D-Bus side itself, so that the menu follows the states only once the
// tray is registered (see Tray.Start).
func runTray(tray *Tray, quitted <-chan struct{}, onExit func()) {
	start, end := systray.RunWithExternalLoop(tray.OnReady, onExit)
	start()
	tray.Start()
	<-quitted
	end()
}
