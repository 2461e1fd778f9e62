// Command tokentray-gui is Tokentray's window. It runs only while the window
// is open: it starts the tray agent when none answers, and exits when the
// window closes, leaving the agent in the tray.
package main

import (
	"context"
	"errors"
	"log"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/tokentray/tokentray/agent/desktop"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/agent/logging"
	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/store"
	"github.com/tokentray/tokentray/ui"
)

func main() {
	// The window handles secrets as the agent does, so its log is redacted
	// the same way.
	logging.SetupLogging(os.Stderr)
	client, err := localapi.DefaultClient()
	if err != nil {
		log.Fatal(err)
	}
	configPath, err := store.DefaultPath()
	if err != nil {
		log.Fatal(err)
	}
	// As in the agent: the passphrase leaves the environment, which
	// nothing this process starts then inherits, and no session bus is
	// started when there is none.
	logging.Redact(store.TakePassphrase(configPath))
	desktop.NoBusAutolaunch()

	// Plain `go build` does not inject FyneApp.toml, so the ID is set here.
	a := app.NewWithID("io.github.tokentray")
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := ui.New(a, client, configPath)
	w.SetMaster()

	// Launching Tokentray again (or the tray's "Open Tokentray") must always
	// bring this window up, since some desktops show no tray at all.
	ln, err := localapi.ListenGUI(func() {
		fyne.Do(func() {
			w.Show()
			w.RequestFocus()
			w.RefreshStatus()
		})
	})
	switch {
	case errors.Is(err, localapi.ErrGUIRunning):
		return // the running window was asked to show itself
	case err != nil:
		log.Printf("Opening Tokentray again will start a second window: %v", err)
	default:
		defer ln.Close()
	}

	go func() {
		err := localapi.EnsureRunning(context.Background(), client)
		fyne.Do(func() { w.AgentStarted(err) })
	}()

	w.ShowAndRun()
	w.Shutdown()
}
