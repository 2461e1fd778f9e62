package ui

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// profileList is the "Profiles" screen: one card per profile with its state
// as the agent reports it and a Copy token button.
type profileList struct {
	w       *Window
	states  map[string]*widget.Label
	content fyne.CanvasObject
}

func newProfileList(w *Window, profiles []store.Profile) *profileList {
	l := &profileList{w: w, states: make(map[string]*widget.Label, len(profiles))}
	names := make([]string, 0, len(profiles))
	cards := container.NewVBox()
	for _, p := range profiles {
		names = append(names, p.Name)
		state := widget.NewLabel("Asking the agent…")
		state.Wrapping = fyne.TextWrapWord
		l.states[p.Name] = state
		var copyButton *widget.Button
		copyButton = widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), func() {
			w.copyToken(p.Name, copyButton, state)
		})
		cards.Add(widget.NewCard(p.Name, p.BaseURL,
			container.NewBorder(nil, nil, nil, container.NewCenter(copyButton), state)))
	}

	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), l.refresh)
	add := widget.NewButtonWithIcon("Add profile", theme.ContentAddIcon(), func() {
		w.showForm(names)
	})
	add.Importance = widget.HighImportance
	header := container.NewHBox(heading("Profiles"), layout.NewSpacer(), container.NewCenter(container.NewHBox(refresh, add)))
	l.content = container.NewBorder(header, nil, nil, nil, container.NewVScroll(cards))
	return l
}

// refresh asks the agent for every profile's state.
func (l *profileList) refresh() {
	l.w.goBackground(func(ctx context.Context) {
		st, err := l.w.agent.Status(ctx)
		fyne.Do(func() { l.showStatus(st, err) })
	})
}

func (l *profileList) showStatus(st agent.Status, err error) {
	byName := make(map[string]agent.ProfileStatus, len(st.Profiles))
	for _, ps := range st.Profiles {
		byName[ps.Name] = ps
	}
	now := time.Now()
	for name, label := range l.states {
		ps, known := byName[name]
		switch {
		case errors.Is(err, agent.ErrNotRunning):
			// Normal for a moment while the GUI starts the agent.
			setInfo(label, "Waiting for the Tokentray agent…")
		case err != nil:
			setError(label, "The agent did not answer: ", err)
		case !known:
			setInfo(label, "The agent has not read this profile yet.")
		case ps.State == auth.StateValid.String():
			setInfo(label, "Token valid until "+formatExpiry(ps.Expiry, now))
		case ps.State == auth.StateRefreshing.String():
			setInfo(label, "Refreshing…")
		case ps.State == auth.StateRetrying.String():
			msg := "Retrying at " + formatExpiry(ps.RetryAt, now) + ": " + ps.Error
			if ps.Expiry.After(now) {
				msg += " · the token stays valid until " + formatExpiry(ps.Expiry, now)
			}
			setInfo(label, msg)
		case ps.State == auth.StateNeedsUser.String():
			setError(label, "Needs you: ", errors.New(ps.Error))
		default:
			setInfo(label, "No token yet.")
		}
	}
}
