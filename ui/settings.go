package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent/desktop"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/store"
)

// Autostart is how the settings turn start-at-login on and off; tests swap
// it for a fake, since the real one writes to the session's login items.
type Autostart struct {
	Enabled func() (bool, error)
	Set     func(on bool) error
}

// systemAutostart is the agent's entry in the system's login items.
var systemAutostart = Autostart{Enabled: desktop.AutostartEnabled, Set: desktop.SetAutostart}

// clearChoices are the clipboard delays offered, in seconds; 0 is never.
var clearChoices = []int{15, 30, 45, 60, 120, 300, 0}

// settings is the Settings screen. Every change is saved at once.
type settings struct {
	w        *Window
	clear    *widget.Select
	login    *widget.Check
	firstUse *widget.Check
	message  *widget.Label
	choices  []int // the seconds behind clear's options
	obj      fyne.CanvasObject
	applying bool // while the saved values are put in the widgets
}

func newSettings(w *Window) *settings {
	s := &settings{w: w, message: widget.NewLabel("")}
	s.message.Wrapping = fyne.TextWrapWord
	s.message.Hide()

	cfg, err := store.Load(w.configPath)
	if err != nil {
		s.obj = errorScreen("Tokentray cannot read its settings", err)
		return s
	}
	current := int(cfg.Settings.ClipboardClear() / time.Second)
	s.choices = slices.Clone(clearChoices)
	if !slices.Contains(s.choices, current) {
		// A value set by hand in the config file stays choosable.
		s.choices = append(s.choices, current)
		slices.Sort(s.choices[:len(s.choices)-1])
	}
	options := make([]string, len(s.choices))
	for i, secs := range s.choices {
		options[i] = clearLabel(secs)
	}
	s.applying = true
	s.clear = widget.NewSelect(options, s.saveClear)
	s.clear.SetSelected(clearLabel(current))
	s.login = widget.NewCheck("Start the Tokentray agent when I log in", s.setLogin)
	s.firstUse = widget.NewCheck("Notify when a program gets a profile's token for the first time", s.setFirstUse)
	s.firstUse.SetChecked(cfg.Settings.NotifyFirstUse)
	s.applying = false
	w.goBackground(func(context.Context) {
		on, err := w.autostart.Enabled()
		s.w.do(func() {
			if err != nil {
				setError(s.message, "Cannot tell whether Tokentray starts at login: ", err)
				return
			}
			s.applying = true
			s.login.SetChecked(on)
			s.applying = false
		})
	})

	back := widget.NewButtonWithIcon("", theme.NavigateBackIcon(), w.showHome)
	header := container.NewBorder(nil, nil, container.NewCenter(back), nil, heading("Settings"))
	form := widget.NewForm(
		widget.NewFormItem("Clear the clipboard", s.clear),
		widget.NewFormItem("", hint("A copied token or header is removed from the clipboard after this delay, unless something else was copied meanwhile.")),
		widget.NewFormItem("Login", s.login),
		widget.NewFormItem("", hint(loginHint())),
		widget.NewFormItem("Access", s.firstUse),
		widget.NewFormItem("", hint("Every token that leaves the agent is recorded with the program that took it: 'tokentray access' lists them.")),
		widget.NewFormItem("Appearance", note("Tokentray follows your system's light or dark theme.")),
	)
	s.obj = container.NewBorder(header, nil, nil, nil, container.NewVScroll(container.NewVBox(form, s.message)))
	return s
}

// clearLabel words a clipboard delay.
func clearLabel(secs int) string {
	switch {
	case secs == 0:
		return "Never"
	case secs < 60 || secs%60 != 0:
		return "After " + strconv.Itoa(secs) + " s"
	case secs == 60:
		return "After 1 minute"
	default:
		return fmt.Sprintf("After %d minutes", secs/60)
	}
}

// saveClear saves the clipboard delay chosen and has the agent read it.
func (s *settings) saveClear(label string) {
	if s.applying {
		return
	}
	i := slices.Index(s.clear.Options, label)
	if i < 0 {
		return
	}
	secs := s.choices[i]
	s.w.goBackground(func(ctx context.Context) {
		err := s.w.updateConfig(func(cfg *store.Config) { cfg.Settings.ClipboardClearSeconds = &secs })
		if err == nil {
			err = s.w.agent.Reload(ctx)
			if errors.Is(err, localapi.ErrNotRunning) {
				err = nil // the agent reads it when it starts
			}
		}
		s.w.do(func() {
			if err != nil {
				setError(s.message, "The clipboard delay was not saved: ", err)
				return
			}
			if secs == 0 {
				setInfo(s.message, "Saved: copies stay on the clipboard.")
			} else {
				setInfo(s.message, "Saved: copies are cleared "+strings.ToLower(label)+".")
			}
		})
	})
}

// setFirstUse saves whether the agent notifies a program's first token of
// a profile; the agent reads it at each first use, so it needs no reload.
func (s *settings) setFirstUse(on bool) {
	s.toggle(s.firstUse, on, func() error {
		return s.w.updateConfig(func(cfg *store.Config) { cfg.Settings.NotifyFirstUse = on })
	}, "The notification setting was not saved: ",
		"Saved: a program's first token of a profile is notified.",
		"Saved: first uses are recorded without a notification.")
}

// setLogin turns start-at-login on or off.
func (s *settings) setLogin(on bool) {
	s.toggle(s.login, on, func() error { return s.w.autostart.Set(on) },
		"Start at login was not changed: ",
		"Tokentray's agent will start when you log in.",
		"Tokentray's agent will no longer start when you log in.")
}

// toggle applies check's change to on in the background with apply, and
// says how it went: failed (followed by the error), then check goes back;
// else onDone or offDone.
func (s *settings) toggle(check *widget.Check, on bool, apply func() error, failed, onDone, offDone string) {
	if s.applying {
		return
	}
	s.w.goBackground(func(context.Context) {
		err := apply()
		s.w.do(func() {
			if err != nil {
				setError(s.message, failed, err)
				s.applying = true
				check.SetChecked(!on)
				s.applying = false
				return
			}
			if on {
				setInfo(s.message, onDone)
			} else {
				setInfo(s.message, offDone)
			}
		})
	})
}

func (s *settings) content() fyne.CanvasObject { return s.obj }
func (s *settings) update(time.Time)           {}
func (s *settings) focus(fyne.Canvas)          {}
