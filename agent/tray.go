package agent

import (
	"context"
	"log"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/systray"

	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/auth"
)

// copyTimeout bounds one Copy click, which may need a refresh; a keychain
// unlock prompt gets time to be answered within it.
const copyTimeout = 2 * time.Minute

// Tray is the agent's tray icon and menu: one submenu per profile with its
// state and what can be done with its token, the icon showing the worst
// state of all.
type Tray struct {
	Tokens    *Tokens
	Clipboard *clipboard.Clipboard
	Open      func() error
	Quit      func()
	// Notify tells the user once that a profile needs them; nil stays
	// silent.
	Notify func(summary, body string) error

	mu       sync.Mutex
	ready    bool
	names    []string // the profiles the menu shows, in order
	statuses map[string]*statusItem
	icon     overall
	iconSet  bool
	tip      string
	notified map[string]bool   // profiles that need the user and were told so
	events   <-chan auth.Event // from OnReady to Start
	// keychainTold: the user was told the keychain does not answer, and
	// no profile has been seen getting past it since.
	keychainTold bool
}

// statusItem is the disabled first line of a profile's submenu.
type statusItem struct {
	item  *systray.MenuItem
	shown string
}

// OnReady builds the menu, before systray puts the tray on the bus. Start
// then keeps it up to date.
func (t *Tray) OnReady() {
	systray.SetTitle("Tokentray")
	// Subscribed before the menu is built, so no change falls in between.
	t.events, _ = t.Tokens.Subscribe()
	t.mu.Lock()
	t.ready = true
	t.mu.Unlock()
	t.Rebuild()
}

// Start follows the profiles' state changes from now on. Called once the
// tray is on the bus: systray copies the icon and title into the bus's
// properties while it registers, and a change made meanwhile would be lost
// (the icon stayed the first one, whatever the states said).
func (t *Tray) Start() {
	go t.eventLoop(t.events)
}

// eventLoop brings the menu up to date when a profile's state changes and
// when the menu is opened. An event only says that something changed: the
// states are read afresh each time, so a late event never shows an old
// state.
//
// The countdowns ("expires in 42 min") are written when the menu opens
// (the dbusmenu "opened" event, TrayOpenedCh), not by a timer, so an idle
// agent has no wake-ups at all; the panel shows the new labels as soon as
// they are set.
func (t *Tray) eventLoop(events <-chan auth.Event) {
	for {
		select {
		case _, ok := <-events:
			if !ok {
				// Fell too far behind: the states read below catch up.
				events, _ = t.Tokens.Subscribe()
			}
			// Many changes at once (a reload, a resume) cost one update.
			for drained := false; !drained; {
				select {
				case _, ok := <-events:
					drained = !ok
				default:
					drained = true
				}
			}
		case <-systray.TrayOpenedCh:
		}
		t.mu.Lock()
		if !t.ready {
			// Closed: the tray's D-Bus connection is going, and
			// systray panics on a property it can no longer send.
			t.mu.Unlock()
			return
		}
		t.update(t.Tokens.Events(), time.Now())
		t.mu.Unlock()
	}
}

// Close stops every change to the tray; call it before systray closes its
// connection (systray.Run's onExit). An update under way finishes first.
func (t *Tray) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready = false
}

// Rebuild lays the menu out again when the profiles changed: fyne.io/systray
// cannot insert items before existing ones, so a new list means a new menu.
// With the same profiles it only brings the states up to date.
func (t *Tray) Rebuild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ready {
		return
	}
	var names []string
	for _, p := range t.Tokens.Profiles() {
		names = append(names, p.Name)
	}
	if t.statuses == nil || !slices.Equal(names, t.names) {
		t.build(names)
	}
	t.update(t.Tokens.Events(), time.Now())
}

// build makes the menu for the named profiles. Called with t.mu held.
func (t *Tray) build(names []string) {
	systray.ResetMenu()
	t.names = names
	t.statuses = make(map[string]*statusItem, len(names))
	for name := range t.notified {
		if !slices.Contains(names, name) {
			delete(t.notified, name)
		}
	}
	for _, name := range names {
		profile := systray.AddMenuItem(menuLabel(name), "")
		status := profile.AddSubMenuItem("", "")
		status.Disable()
		t.statuses[name] = &statusItem{item: status}
		profile.AddSeparator()
		t.onClick(profile.AddSubMenuItem("Copy token", "Copy a valid access token of "+name), func() {
			t.copy(name, "the token", copyToken)
		})
		t.onClick(profile.AddSubMenuItem("Copy Authorization header", `Copy "Authorization: Bearer …" with a valid token of `+name), func() {
			t.copy(name, "the Authorization header", copyHeader)
		})
		t.onClick(profile.AddSubMenuItem("Refresh now", "Renew the token of "+name+" now"), func() {
			if err := t.Tokens.RefreshNow(name); err != nil {
				log.Printf("refresh %s: %v", name, err)
			}
		})
	}
	if len(names) == 0 {
		systray.AddMenuItem("No profiles yet", "Add one in the Tokentray window").Disable()
	}
	systray.AddSeparator()
	t.onClick(systray.AddMenuItem("Open Tokentray", "Show the Tokentray window"), func() {
		if err := t.Open(); err != nil {
			log.Printf("opening the window: %v", err)
		}
	})
	t.onClick(systray.AddMenuItem("Quit", "Stop the Tokentray agent"), t.Quit)
}

// onClick runs do for each click on item. systray drops a click nobody is
// waiting for, so every item has a goroutine blocked on its channel; the
// next build's ResetMenu closes it and ends the loop.
func (t *Tray) onClick(item *systray.MenuItem, do func()) {
	go func() {
		for range item.ClickedCh {
			do()
		}
	}()
}

// update shows the states: each profile's status line, the icon and its
// tooltip; and notifies of each profile that newly needs the user, and
// once of a keychain that stopped answering. Called with t.mu held.
func (t *Tray) update(events []auth.Event, now time.Time) {
	var shown []auth.Event
	var needYou []string
	for _, e := range events {
		s, ok := t.statuses[e.Profile]
		if !ok {
			continue // added by a reload whose Rebuild is on its way
		}
		shown = append(shown, e)
		if line := menuLabel(statusLine(e, now)); line != s.shown {
			s.item.SetTitle(line)
			s.shown = line
		}
		switch e.State {
		case auth.StateNeedsUser:
			needYou = append(needYou, e.Profile)
			t.notifyOnce(e)
		case auth.StateValid, auth.StateRetrying:
			// Needing the user again later is news again.
			delete(t.notified, e.Profile)
		}
	}
	if waiting := t.keychainNews(shown); len(waiting) > 0 && t.Notify != nil {
		go func() {
			if err := t.Notify("Tokentray: the keychain is not answering", keychainNotice(waiting)); err != nil {
				log.Printf("notifying that the keychain does not answer: %v", err)
			}
		}()
	}
	icon := worst(shown)
	if !t.iconSet || icon != t.icon {
		systray.SetIcon(trayIcon(icon.image()))
		t.icon, t.iconSet = icon, true
	}
	if tip := tooltip(icon, shown, needYou); tip != t.tip {
		systray.SetTooltip(tip)
		t.tip = tip
	}
}

// notifyOnce notifies that e's profile needs the user, unless it was told
// already: a retry or a Refresh now that is refused again is no news.
// Called with t.mu held.
func (t *Tray) notifyOnce(e auth.Event) {
	if t.notified[e.Profile] || t.Notify == nil {
		return
	}
	if t.notified == nil {
		t.notified = map[string]bool{}
	}
	t.notified[e.Profile] = true
	summary := "Tokentray: " + e.Profile + " needs you"
	body := shorten(e.Err) + "\nCorrect its credentials in the Tokentray window, or run 'tokentray add " + e.Profile + " …' again."
	go func() {
		if err := t.Notify(summary, body); err != nil {
			log.Printf("notifying that %s needs you: %v", e.Profile, err)
		}
	}()
}

// keychainNews returns the profiles waiting for the keychain when that is
// news: once, however many profiles wait and however often they retry,
// until no profile waits or refreshes any more (a refresh in flight may be
// waiting for the keychain too). Called with t.mu held.
func (t *Tray) keychainNews(events []auth.Event) (waiting []string) {
	busy := false
	for _, e := range events {
		switch e.State {
		case auth.StateKeychain:
			waiting = append(waiting, e.Profile)
		case auth.StateRefreshing:
			busy = true
		}
	}
	if len(waiting) == 0 {
		t.keychainTold = t.keychainTold && busy
		return nil
	}
	if t.keychainTold {
		return nil
	}
	t.keychainTold = true
	return waiting
}

// keychainNotice is the body of the notification that the keychain does
// not answer for the profiles waiting.
func keychainNotice(waiting []string) string {
	return "It did not answer for " + strings.Join(waiting, ", ") + ". Unlock it if an unlock prompt is open (it may be behind other windows); otherwise check that gnome-keyring or KWallet runs. Tokentray retries by itself and serves the tokens it holds meanwhile."
}

func (t *Tray) copy(profile, what string, copyFn func(context.Context, *Tokens, *clipboard.Clipboard, string) (auth.Token, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), copyTimeout)
	defer cancel()
	tok, err := copyFn(ctx, t.Tokens, t.Clipboard, profile)
	if err != nil {
		log.Printf("copy %s of %s: %v", what, profile, err)
		// A click that copied nothing must say so, or the next paste is
		// whatever was on the clipboard before.
		if t.Notify != nil {
			if nerr := t.Notify("Tokentray did not copy "+what+" of "+profile, shorten(err.Error())); nerr != nil {
				log.Printf("notifying that the copy failed: %v", nerr)
			}
		}
		return
	}
	log.Printf("copied %s of %s, valid until %s", what, profile, tok.Expiry.Format(time.RFC3339))
}

// overall is what the tray icon shows: the worst state of any profile.
type overall int

const (
	allValid     overall = iota // also while refreshing, before the first token, and with no profiles
	someRefused                 // an API refuses a valid token (Event.Refused)
	someRetrying                // a refresh failed and will be retried
	someKeychain                // a profile's keychain does not answer; it will be retried
	someNeedYou                 // a profile's credentials were refused
)

func worst(events []auth.Event) overall {
	w := allValid
	for _, e := range events {
		switch e.State {
		case auth.StateNeedsUser:
			return someNeedYou
		case auth.StateKeychain:
			w = someKeychain
		case auth.StateRetrying:
			w = max(w, someRetrying)
		case auth.StateValid:
			if e.Refused != "" {
				w = max(w, someRefused)
			}
		}
	}
	return w
}

func (o overall) image() []byte {
	switch o {
	case someNeedYou:
		return assets.TrayNeedsYou
	case someRefused, someRetrying, someKeychain:
		return assets.TrayRetrying
	default:
		return assets.TrayValid
	}
}

func tooltip(o overall, events []auth.Event, needYou []string) string {
	switch {
	case o == someNeedYou:
		if len(needYou) == 1 {
			return "Tokentray: " + needYou[0] + " needs you"
		}
		return "Tokentray: " + strings.Join(needYou, ", ") + " need you"
	case o == someRetrying:
		return "Tokentray: retrying a refresh"
	case o == someRefused:
		return "Tokentray: an API refuses a token"
	case o == someKeychain:
		return "Tokentray: the keychain is not answering"
	case len(events) == 0:
		return "Tokentray: no profiles yet"
	default:
		return "Tokentray: every token valid"
	}
}

// relativeTimes says whether the menu may show countdowns: only where it
// learns that the menu opens (TrayOpenedCh; not on Windows), since they
// are brought up to date then. Elsewhere it shows clock times.
var relativeTimes = runtime.GOOS != "windows"

// statusLine is a profile's state in a few words, worded as in the window.
func statusLine(e auth.Event, now time.Time) string {
	switch e.State {
	case auth.StateValid:
		left := e.Expiry.Sub(now)
		switch {
		case left <= 0:
			return "Expired · renewing"
		case e.Refused != "":
			return "Refused by its API: " + shorten(e.Refused)
		case !relativeTimes:
			return "Valid until " + e.Expiry.Local().Format("15:04")
		default:
			return "Valid · expires in " + localapi.TimeLeft(left)
		}
	case auth.StateRefreshing:
		return "Refreshing…"
	case auth.StateRetrying:
		return "Retrying " + retryWhen(e, now) + ": " + shorten(e.Err)
	case auth.StateKeychain:
		return "Keychain not answering · retrying " + retryWhen(e, now)
	case auth.StateNeedsUser:
		return "Needs you: " + shorten(e.Err)
	default:
		return "No token yet"
	}
}

// retryWhen says when e's profile is retried: "now", "in 30 s", "at 10:05".
func retryWhen(e auth.Event, now time.Time) string {
	wait := e.RetryAt.Sub(now)
	switch {
	case wait <= 0:
		return "now"
	case !relativeTimes:
		return "at " + e.RetryAt.Local().Format("15:04")
	default:
		return "in " + localapi.TimeLeft(wait)
	}
}

// maxReason is how much of an error a menu line shows; the window and the
// log have it whole.
const maxReason = 90

// shorten trims an error for one menu line.
func shorten(reason string) string {
	reason = strings.Join(strings.Fields(reason), " ")
	if r := []rune(reason); len(r) > maxReason {
		return string(r[:maxReason-1]) + "…"
	}
	return reason
}

// menuLabel escapes text for a menu label: dbusmenu reads "_" as the
// mark of a keyboard mnemonic.
func menuLabel(text string) string {
	if runtime.GOOS == "linux" {
		return strings.ReplaceAll(text, "_", "__")
	}
	return text
}
