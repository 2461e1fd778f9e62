package agent

import (
	"context"
	"log"
	"sync"
	"time"

	"fyne.io/systray"

	"github.com/tokentray/tokentray/assets"
)

// copyTimeout bounds one Copy token click, which may need a refresh; a
// keychain unlock prompt gets time to be answered within it.
const copyTimeout = 2 * time.Minute

// Tray is the agent's tray icon and menu.
type Tray struct {
	Tokens    *Tokens
	Clipboard *Clipboard
	Open      func() error
	Quit      func()

	mu    sync.Mutex
	ready bool
}

// OnReady builds the menu once the tray host accepted the icon.
func (t *Tray) OnReady() {
	systray.SetIcon(assets.Icon)
	systray.SetTitle("Tokentray")
	systray.SetTooltip("Tokentray: API tokens, kept fresh")
	t.mu.Lock()
	t.ready = true
	t.mu.Unlock()
	t.Rebuild()
}

// Rebuild lays the menu out again from the current profiles. fyne.io/systray
// cannot insert items before existing ones, so a changed profile list means
// a fresh menu rather than an edit in place.
func (t *Tray) Rebuild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ready {
		return
	}
	systray.ResetMenu()
	for _, p := range t.Tokens.Profiles() {
		profile := systray.AddMenuItem(p.Name, p.BaseURL)
		copyToken := profile.AddSubMenuItem("Copy token", "Copy a valid access token of "+p.Name)
		// systray drops a click nobody is waiting for, so every item has a
		// goroutine blocked on its channel; Remove closes it and ends the loop.
		go onClick(copyToken, func() { t.copyToken(p.Name) })
	}
	systray.AddSeparator()
	open := systray.AddMenuItem("Open Tokentray", "Show the Tokentray window")
	go onClick(open, func() {
		if err := t.Open(); err != nil {
			log.Printf("opening the window: %v", err)
		}
	})
	quit := systray.AddMenuItem("Quit", "Stop the Tokentray agent")
	go onClick(quit, t.Quit)
}

func onClick(item *systray.MenuItem, do func()) {
	for range item.ClickedCh {
		do()
	}
}

func (t *Tray) copyToken(profile string) {
	ctx, cancel := context.WithTimeout(context.Background(), copyTimeout)
	defer cancel()
	tok, err := copyToken(ctx, t.Tokens, t.Clipboard, profile)
	if err != nil {
		log.Printf("copy token: %v", err)
		return
	}
	log.Printf("copied the token of %s, valid until %s", profile, tok.Expiry.Format(time.RFC3339))
}
