package agent

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/agent/desktop"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/store"
)

// Run is the agent: it claims the socket (ErrAlreadyRunning when another
// agent has it), serves the LocalAPI and shows the tray until Quit. It blocks
// on the calling goroutine, which must be the main one (macOS needs the tray
// there).
func Run(socket, configPath string) error {
	ln, err := localapi.Listen(socket)
	if err != nil {
		return err
	}
	// Without a session bus there is no tray to show, and godbus must not
	// start a bus of its own: settled before Keep's first keychain read,
	// which would otherwise race to run dbus-launch. The agent then waits
	// for its quit alone.
	noTray := !desktop.NoBusAutolaunch()
	if noTray {
		log.Print("no session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus): no tray icon and no notifications; tokens are kept and served as usual")
	}
	tokens, err := NewTokens(configPath, store.OpenKeychain(configPath, nil))
	if err == nil {
		tokens.notify = desktop.Notify
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
	desktop.WatchSystem(ctx, tokens.Recheck)
	go logStates(tokens)
	quitted := make(chan struct{})
	var once sync.Once
	quit := func() { once.Do(func() { close(quitted) }) }
	clip := &clipboard.Clipboard{}
	tray := &Tray{Tokens: tokens, Clipboard: clip, Open: OpenGUI, Quit: quit, Notify: desktop.Notify}
	proxies := &Proxies{Tokens: tokens, OnConnection: tokens.RecordProxy}
	proxies.Sync(tokens.Profiles())
	defer proxies.Close()
	onReload := func() {
		tray.Rebuild()
		proxies.Sync(tokens.Profiles())
	}
	srv := &Server{Tokens: tokens, Clipboard: clip, OnReload: onReload, OnOpen: OpenGUI, OnQuit: quit}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Printf("LocalAPI stopped: %v", err)
		}
	}()
	log.Printf("Tokentray agent %d listening on %s", os.Getpid(), socket)
	stopSignals := quitOnSignal(quit)
	defer stopSignals()
	onExit := func() {
		tray.Close()
		// A token left on the clipboard would outlive the agent that
		// was to clear it.
		clip.Close()
		ln.Close() // removes the socket, then lets another agent start
	}
	if noTray {
		<-quitted
		onExit()
		return nil
	}
	runTray(tray, quitted, onExit)
	return nil
}

// quitOnSignal has a logout's SIGHUP, a `kill`'s SIGTERM and a terminal's
// Ctrl-C quit the agent as its menu does, so that it clears the clipboard
// and removes its socket on the way out. A second signal, once the first is
// being handled, stops the agent at once. The returned func stops watching.
func quitOnSignal(quit func()) (stop func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			signal.Stop(signals)
			log.Printf("quitting on %s", sig)
			quit()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
	}
}

// logStates writes each profile's state changes to the log, so that "why
// did it need me at 3 am" has an answer. The log's handler redacts secrets,
// and an event carries none anyway.
func logStates(tokens *Tokens) {
	events, _ := tokens.Subscribe()
	for {
		e, ok := <-events
		if !ok {
			if events, _ = tokens.Subscribe(); events == nil {
				return // the agent is stopping
			}
			// Fell behind (a reload of many profiles): the states go on.
			slog.Warn("token state: some changes were not logged")
			continue
		}
		attrs := []any{"profile", e.Profile, "state", e.State}
		if !e.Expiry.IsZero() {
			attrs = append(attrs, "expiry", e.Expiry.Format(time.RFC3339))
		}
		if !e.RetryAt.IsZero() {
			attrs = append(attrs, "retry_at", e.RetryAt.Format(time.RFC3339))
		}
		if e.Err != "" {
			attrs = append(attrs, "error", e.Err)
		}
		slog.Info("token state", attrs...)
	}
}

// OpenGUI shows the running GUI's window, or starts the GUI beside this
// executable when none runs.
func OpenGUI() error {
	if localapi.FocusGUI() == nil {
		return nil
	}
	exe, err := localapi.Sibling(GUIExecutable)
	if err != nil {
		return err
	}
	return localapi.StartDetached(exe)
}

// GUIExecutable is the file name of the Fyne GUI next to the agent.
const GUIExecutable = "tokentray-gui"
