// Package ui is Tokentray's Fyne window: the profile list and the
// add-profile form. It holds no protocol logic: profiles are edited through
// package store and tokens come from the agent. Work that may block (the
// keychain, the agent) runs in goroutines, and every widget update from one
// goroutine goes through fyne.Do.
package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/store"
)

// Agent is what the window needs from the Tokentray agent. *agent.Client
// satisfies it; tests give a fake.
type Agent interface {
	Status(ctx context.Context) (agent.Status, error)
	Token(ctx context.Context, profile string) (agent.TokenResponse, error)
	Copy(ctx context.Context, profile string) (agent.TokenResponse, error)
	Reload(ctx context.Context) error
}

// Window is Tokentray's main window. It shows the profile list, or the
// add-profile form while there is no profile.
type Window struct {
	fyne.Window

	app        fyne.App
	agent      Agent
	configPath string

	// ctx ends the agent requests in flight when the window goes away;
	// work counts the goroutines, so Shutdown can let a save finish.
	ctx    context.Context
	cancel context.CancelFunc
	work   sync.WaitGroup

	banner   *widget.Label // the agent's trouble, when it has any
	body     *fyne.Container
	profiles *profileList // nil while the form is shown
}

// New builds the main window of app. The profiles are read from configPath;
// tokens and states come from ag.
func New(app fyne.App, ag Agent, configPath string) *Window {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Window{
		Window:     app.NewWindow("Tokentray"),
		app:        app,
		agent:      ag,
		configPath: configPath,
		ctx:        ctx,
		cancel:     cancel,
		banner:     widget.NewLabel(""),
		body:       container.NewStack(),
	}
	w.banner.Importance = widget.DangerImportance
	w.banner.Wrapping = fyne.TextWrapWord
	w.banner.Hide()
	w.SetContent(container.NewPadded(container.NewBorder(nil, w.banner, nil, nil, w.body)))
	w.Resize(fyne.NewSize(560, 600))
	w.showHome()
	return w
}

// AgentStarted tells the window whether the agent could be started: a
// non-nil err stays on show until AgentStarted(nil). Either way the profiles'
// states are asked for again. Call it on the Fyne thread.
func (w *Window) AgentStarted(err error) {
	if err != nil {
		w.banner.SetText("The Tokentray agent is not available: " + err.Error())
		w.banner.Show()
	} else {
		w.banner.Hide()
	}
	w.RefreshStatus()
}

// RefreshStatus asks the agent for the profiles' states again. Call it on
// the Fyne thread.
func (w *Window) RefreshStatus() {
	if w.profiles != nil {
		w.profiles.refresh()
	}
}

// Shutdown cancels the agent requests in flight and waits until the
// background work has ended, so that a save in progress is never cut short
// when the window closes.
func (w *Window) Shutdown() {
	w.cancel()
	w.work.Wait()
}

// goBackground runs fn in a goroutine that Shutdown waits for. fn must update
// widgets only through fyne.Do.
func (w *Window) goBackground(fn func(ctx context.Context)) {
	w.work.Add(1)
	go func() {
		defer w.work.Done()
		fn(w.ctx)
	}()
}

// showHome shows the profile list, or the form when there is no profile.
func (w *Window) showHome() {
	cfg, err := store.Load(w.configPath)
	if err != nil {
		w.show(errorScreen("Tokentray cannot read its profiles", err))
		return
	}
	if len(cfg.Profiles) == 0 {
		w.showForm(nil)
		return
	}
	w.profiles = newProfileList(w, cfg.Profiles)
	w.show(w.profiles.content)
	w.profiles.refresh()
}

// showForm shows the add-profile form; existing lists the profile names it
// must not overwrite, and when it has any the form can go back to the list.
func (w *Window) showForm(existing []string) {
	w.profiles = nil
	w.show(newProfileForm(w, existing).content)
}

func (w *Window) show(screen fyne.CanvasObject) {
	w.body.Objects = []fyne.CanvasObject{screen}
	w.body.Refresh()
}

// copyToken has the agent put profile's token on the clipboard, reporting
// the outcome in status. The agent owns the copy because on X11 a copy dies
// with its owner, and this window may close right after. The token itself
// is never shown.
func (w *Window) copyToken(profile string, button *widget.Button, status *widget.Label) {
	button.Disable()
	w.goBackground(func(ctx context.Context) {
		tok, err := w.agent.Copy(ctx, profile)
		fyne.Do(func() {
			button.Enable()
			if err != nil {
				setError(status, "No token copied: ", err)
				return
			}
			setInfo(status, "Token copied · valid until "+formatExpiry(tok.Expiry, time.Now()))
		})
	})
}

// heading is a screen's title.
func heading(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	return l
}

// note is a paragraph of explanation under a heading.
func note(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
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
	if errors.Is(err, agent.ErrNotRunning) {
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
