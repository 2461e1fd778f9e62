package ui

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// Agent is what the window needs from the Tokentray agent. *localapi.Client
// satisfies it; tests give a fake.
type Agent interface {
	// Events calls fn with every profile's state, then with each change,
	// until ctx ends or the agent goes away.
	Events(ctx context.Context, fn func(auth.Event)) error
	Token(ctx context.Context, profile string) (localapi.TokenResponse, error)
	Copy(ctx context.Context, profile string) (localapi.TokenResponse, error)
	CopyHeader(ctx context.Context, profile string) (localapi.TokenResponse, error)
	Refresh(ctx context.Context, profile string) error
	Reload(ctx context.Context) error
	// Tested tells the agent's access log that the window's Test was
	// granted a token of profile.
	Tested(ctx context.Context, profile string) error
}

// reconnectDelay is how long the window waits before following the
// agent's events again after the stream ended (the agent is starting, or
// was quit from the tray).
const reconnectDelay = time.Second

// screen is one of the window's views.
type screen interface {
	content() fyne.CanvasObject
	// update shows the profiles' states and times as they are at now.
	update(now time.Time)
	// focus puts the keyboard focus where the person starts on this view.
	focus(c fyne.Canvas)
}

// Window is Tokentray's main window.
type Window struct {
	fyne.Window

	app        fyne.App
	agent      Agent
	configPath string
	now        func() time.Time
	// do runs a widget update from a goroutine on the Fyne thread: fyne.Do,
	// which tests replace to run the updates on the test's goroutine.
	do        func(func())
	autostart Autostart
	// The device the identity flow describes: detected, but fixed in tests.
	deviceInfo    func() auth.DeviceInfo
	detectNetwork func() auth.NetworkType
	// openKeychain is store.OpenKeychain; tests keep the secrets in memory.
	openKeychain func(configPath string, ask store.Passphrase) store.Keychain

	// ctx ends the agent requests in flight when the window goes away;
	// work counts the one-off goroutines, so Shutdown can let a save
	// finish, and loops the event stream and the clock.
	ctx    context.Context
	cancel context.CancelFunc
	work   sync.WaitGroup
	loops  sync.WaitGroup

	banner *widget.Label // the agent's trouble, when it has any
	body   *fyne.Container
	screen screen
	dialog dialog.Dialog // the dialog on show, which Escape closes

	profiles []store.Profile
	// states holds the agent's last word on each profile; agentErr is why
	// the event stream is down, nil while it flows.
	states   map[string]auth.Event
	agentErr error
}

// New builds the main window of app. The profiles are read from configPath;
// states and tokens come from ag, whose events the window follows until
// Shutdown.
func New(app fyne.App, ag Agent, configPath string) *Window {
	w := newWindow(app, ag, configPath, time.Now)
	w.showHome()
	w.startLoops(time.Second)
	return w
}

// newWindow builds the window, empty and without its background loops, on
// the clock now, so that tests control all three.
func newWindow(app fyne.App, ag Agent, configPath string, now func() time.Time) *Window {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{
		Window:        app.NewWindow("Tokentray"),
		app:           app,
		agent:         ag,
		configPath:    configPath,
		now:           now,
		do:            fyne.Do,
		autostart:     systemAutostart,
		deviceInfo:    auth.DetectDeviceInfo,
		detectNetwork: auth.DetectNetworkType,
		openKeychain:  store.OpenKeychain,
		ctx:           ctx,
		cancel:        cancel,
		banner:        widget.NewLabel(""),
		body:          container.NewStack(),
		states:        map[string]auth.Event{},
		agentErr:      localapi.ErrNotRunning,
	}
	w.banner.Importance = widget.DangerImportance
	w.banner.Wrapping = fyne.TextWrapWord
	w.banner.Hide()
	w.SetContent(container.NewPadded(container.NewBorder(nil, w.banner, nil, nil, w.body)))
	w.Resize(fyne.NewSize(640, 620))
	// The loops stop as the window closes, before Fyne shuts down: a tick
	// handed to fyne.Do during the shutdown could find its queue closed.
	w.SetOnClosed(w.cancel)
	w.Canvas().SetOnTypedKey(w.typedKey)
	w.addShortcuts()
	return w
}

// addShortcuts gives the window's main actions the usual keys: Ctrl+N a
// new profile, Ctrl+E edit the profile on show, Ctrl+, the settings (⌘ on
// macOS).
func (w *Window) addShortcuts() {
	add := func(key fyne.KeyName, fn func()) {
		w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault},
			func(fyne.Shortcut) { fn() })
	}
	add(fyne.KeyN, func() { w.showEditor(editorAdd, store.Profile{}) })
	add(fyne.KeyE, func() {
		if v, ok := w.screen.(*tokenView); ok {
			w.showEditor(editorEdit, v.p)
		}
	})
	add(fyne.KeyComma, w.showSettings)
}

// startLoops follows the agent's events and ticks the countdowns every
// interval, until Shutdown.
func (w *Window) startLoops(interval time.Duration) {
	w.loops.Add(2)
	go func() {
		defer w.loops.Done()
		w.followEvents()
	}()
	go func() {
		defer w.loops.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
				w.do(w.update)
			}
		}
	}()
}

// followEvents keeps the window's states in step with the agent, and
// reconnects when the stream ends.
func (w *Window) followEvents() {
	for {
		err := w.agent.Events(w.ctx, func(e auth.Event) {
			w.do(func() { w.setState(e) })
		})
		if w.ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the agent ended the event stream")
		}
		w.do(func() { w.lostAgent(err) })
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(reconnectDelay):
		}
	}
}

// setState records an event from the agent. A profile the window does not
// know was added elsewhere (the CLI), so the profiles are read again.
func (w *Window) setState(e auth.Event) {
	w.agentErr = nil
	w.states[e.Profile] = e
	if !slices.ContainsFunc(w.profiles, func(p store.Profile) bool { return p.Name == e.Profile }) {
		if _, isList := w.screen.(*profileList); isList {
			w.showHome()
			return
		}
	}
	w.update()
}

// lostAgent marks every state unknown until the stream is back.
func (w *Window) lostAgent(err error) {
	w.agentErr = err
	w.update()
}

// update redraws the current screen's states and countdowns.
func (w *Window) update() {
	if w.screen != nil {
		w.screen.update(w.now())
	}
}

// AgentStarted tells the window whether the agent could be started: a
// non-nil err stays on show until AgentStarted(nil). Call it on the Fyne
// thread.
func (w *Window) AgentStarted(err error) {
	if err != nil {
		w.banner.SetText("The Tokentray agent is not available: " + err.Error())
		w.banner.Show()
	} else {
		w.banner.Hide()
	}
}

// RefreshStatus reads the profiles again when the list is on show: the
// window was brought back, and the CLI may have changed them meanwhile.
// Call it on the Fyne thread.
func (w *Window) RefreshStatus() {
	if _, isList := w.screen.(*profileList); isList {
		w.showHome()
	}
}

// Shutdown cancels the agent requests in flight and waits until the
// background work has ended, so that a save in progress is never cut short
// when the window closes.
func (w *Window) Shutdown() {
	w.cancel()
	w.work.Wait()
	w.loops.Wait()
}

// goBackground runs fn in a goroutine that Shutdown waits for. fn must update
// widgets only through w.do.
func (w *Window) goBackground(fn func(ctx context.Context)) {
	w.work.Add(1)
	go func() {
		defer w.work.Done()
		fn(w.ctx)
	}()
}

// loadProfiles reads the profiles from the config.
func (w *Window) loadProfiles() error {
	cfg, err := store.Load(w.configPath)
	if err != nil {
		return err
	}
	w.profiles = cfg.Profiles
	return nil
}

// updateConfig changes the config file with fn, under the config lock, so
// that a change another process saves meanwhile (a move of the secrets)
// is not undone. It reads and writes files, and may wait for another
// process: call it in the background.
func (w *Window) updateConfig(fn func(*store.Config)) error {
	return store.UpdateConfig(w.configPath, func(cfg *store.Config) error {
		fn(cfg)
		return nil
	})
}

// keychain is where the profiles' secrets live, as the config chooses: the
// OS keychain or the secrets file. It reads the config: call it in the
// background.
func (w *Window) keychain() store.Keychain {
	return w.openKeychain(w.configPath, nil)
}

func (w *Window) profile(name string) (store.Profile, bool) {
	i := slices.IndexFunc(w.profiles, func(p store.Profile) bool { return p.Name == name })
	if i < 0 {
		return store.Profile{}, false
	}
	return w.profiles[i], true
}

func (w *Window) names() []string {
	out := make([]string, len(w.profiles))
	for i, p := range w.profiles {
		out[i] = p.Name
	}
	return out
}

// showHome shows the profile list, or the editor when there is no profile.
func (w *Window) showHome() {
	w.showHomeWith("")
}

// showHomeWith shows the profile list with a message under it.
func (w *Window) showHomeWith(message string) {
	if err := w.loadProfiles(); err != nil {
		w.show(&staticScreen{errorScreen("Tokentray cannot read its profiles", err)})
		return
	}
	if len(w.profiles) == 0 {
		w.show(newEditor(w, editorAdd, store.Profile{}))
		return
	}
	l := newProfileList(w)
	if message != "" {
		setInfo(l.message, message)
	}
	w.show(l)
}

// showEditor shows the profile editor.
func (w *Window) showEditor(mode editorMode, p store.Profile) {
	w.show(newEditor(w, mode, p))
}

// showToken shows the token view of profile.
func (w *Window) showToken(profile string) {
	p, ok := w.profile(profile)
	if !ok {
		w.showHome()
		return
	}
	w.show(newTokenView(w, p))
}

// showSettings shows the settings.
func (w *Window) showSettings() {
	w.show(newSettings(w))
}

func (w *Window) show(s screen) {
	w.screen = s
	w.body.Objects = []fyne.CanvasObject{s.content()}
	w.body.Refresh()
	s.update(w.now())
	w.Canvas().Unfocus()
	s.focus(w.Canvas())
}

// back is Escape: it closes the dialog on show, or goes back to the list.
func (w *Window) back() {
	if w.dialog != nil {
		w.dialog.Hide()
		w.dialog = nil
		return
	}
	if _, isList := w.screen.(*profileList); isList || len(w.profiles) == 0 {
		return
	}
	w.showHome()
}

// typedKey handles the keys typed while no widget has the focus.
func (w *Window) typedKey(e *fyne.KeyEvent) {
	if e.Name == fyne.KeyEscape {
		w.back()
	}
}

// showDialog shows d and remembers it for Escape. The focus is taken off
// the screen behind, so that keys reach the window.
func (w *Window) showDialog(d dialog.Dialog) {
	w.dialog = d
	d.SetOnClosed(func() {
		if w.dialog == d {
			w.dialog = nil
		}
	})
	w.Canvas().Unfocus()
	d.Show()
}

// copyToken has the agent put profile's token (or header line) on the
// clipboard, reporting the outcome in status. The agent owns the copy
// because on X11 a copy dies with its owner, and this window may close
// right after; it also clears the clipboard after the set delay. The token
// itself is never shown.
func (w *Window) copyToken(profile string, header bool, button *widget.Button, status *widget.Label) {
	button.Disable()
	w.goBackground(func(ctx context.Context) {
		copyFn, what := w.agent.Copy, "Token"
		if header {
			copyFn, what = w.agent.CopyHeader, "Authorization header"
		}
		tok, err := copyFn(ctx, profile)
		w.do(func() {
			button.Enable()
			if err != nil {
				setError(status, "Nothing copied: ", err)
				return
			}
			setInfo(status, what+" copied · valid until "+formatExpiry(tok.Expiry, w.now()))
		})
	})
}

// staticScreen is a screen that never changes, such as an error.
type staticScreen struct{ obj fyne.CanvasObject }

func (s *staticScreen) content() fyne.CanvasObject { return s.obj }
func (s *staticScreen) update(time.Time)           {}
func (s *staticScreen) focus(fyne.Canvas)          {}

// heading is a screen's title.
func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// note is a paragraph of explanation.
func note(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// hint is a quieter note.
func hint(text string) *widget.Label {
	l := note(text)
	l.Importance = widget.LowImportance
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func errorScreen(title string, err error) fyne.CanvasObject {
	msg := widget.NewLabel(err.Error())
	msg.Wrapping = fyne.TextWrapWord
	msg.Importance = widget.DangerImportance
	return container.NewVBox(heading(title), msg)
}

func setError(l *widget.Label, prefix string, err error) {
	l.Importance = widget.DangerImportance
	l.SetText(prefix + agentMessage(err))
	l.Show()
}

func setInfo(l *widget.Label, text string) {
	l.Importance = widget.MediumImportance
	l.SetText(text)
	l.Show()
}

// agentMessage words an agent error for the window: a missing agent gets a
// hint instead of a socket error.
func agentMessage(err error) string {
	if errors.Is(err, localapi.ErrNotRunning) {
		return "the Tokentray agent is not running; start it with “tokentray agent”."
	}
	return err.Error()
}

// formatExpiry says when a token expires: the time alone today, with the
// date on other days.
func formatExpiry(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	if ty == ny && tm == nm && td == nd {
		return t.Format("15:04")
	}
	return t.Format("Mon 2 Jan 15:04")
}
