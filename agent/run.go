package agent

import (
	"context"
	"errors"
	"log"
	"net"
	"os"

	"fyne.io/systray"

	"github.com/tokentray/tokentray/store"
)

// Run is the agent: it claims the socket (ErrAlreadyRunning when another
// agent has it), serves the LocalAPI and shows the tray until Quit. It blocks
// on the calling goroutine, which must be the main one (macOS needs the tray
// there).
func Run(socket, configPath string) error {
	ln, err := Listen(socket)
	if err != nil {
		return err
	}
	tokens, err := NewTokens(configPath, store.OpenKeychain(configPath, nil))
	if err == nil {
		err = tokens.Keep()
	}
	if err != nil {
		ln.Close()
		return err
	}
	defer tokens.Close()
	ctx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	// A token that lapsed during a suspend, or a retry waiting out a
	// network that came back, is seen to at once.
	watchSystem(ctx, tokens.Recheck)
	clip := &Clipboard{}
	tray := &Tray{Tokens: tokens, Clipboard: clip, Open: OpenGUI, Quit: systray.Quit}
	srv := &Server{Tokens: tokens, Clipboard: clip, OnReload: tray.Rebuild, OnOpen: OpenGUI, OnQuit: systray.Quit}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Printf("LocalAPI stopped: %v", err)
		}
	}()
	log.Printf("Tokentray agent %d listening on %s", os.Getpid(), socket)
	systray.Run(tray.OnReady, func() {
		ln.Close()
		os.Remove(socket)
	})
	return nil
}

// OpenGUI shows the running GUI's window, or starts the GUI beside this
// executable when none runs.
func OpenGUI() error {
	if FocusGUI() == nil {
		return nil
	}
	exe, err := Sibling(GUIExecutable)
	if err != nil {
		return err
	}
	return StartDetached(exe)
}

// GUIExecutable is the file name of the Fyne GUI next to the agent.
const GUIExecutable = "tokentray-gui"
