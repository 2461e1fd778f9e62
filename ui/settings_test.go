package ui

import (
	"errors"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

func TestSettingsSaveClipboardDelay(t *testing.T) {
	ag := newFakeAgent(auth.Event{Profile: "work", State: auth.StateNone})
	w, path := newTestWindow(t, ag, work)
	test.Tap(button(t, w, "")) // the list's only icon-only button: Settings
	s, ok := w.screen.(*settings)
	if !ok {
		t.Fatalf("the settings button shows %T", w.screen)
	}
	settle(w)
	if s.clear.Selected != "After 45 s" {
		t.Errorf("clipboard delay shows %q, want the default, After 45 s", s.clear.Selected)
	}
	if !showsText(t, w, "follows your system's light or dark theme") {
		t.Error("the settings do not say the theme follows the system")
	}

	s.clear.SetSelected("Never")
	settle(w)
	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Settings.ClipboardClearSeconds == nil || *cfg.Settings.ClipboardClearSeconds != 0 || cfg.Settings.ClipboardClear() != 0 {
		t.Errorf("saved clipboard delay %v, want 0 (never)", cfg.Settings.ClipboardClearSeconds)
	}
	if _, ok := cfg.Profile("work"); !ok {
		t.Error("saving the settings lost the profiles")
	}
	if !slices.Equal(ag.Calls(), []string{"reload"}) {
		t.Errorf("agent calls %q, want a reload so the agent uses the new delay", ag.Calls())
	}
	if !showsText(t, w, "Saved: copies stay on the clipboard.") {
		t.Errorf("saving says %q", visibleTexts(t, w))
	}
	s.clear.SetSelected("After 2 minutes")
	settle(w)
	cfg, _ = store.Load(path)
	if cfg.Settings.ClipboardClear() != 2*time.Minute {
		t.Errorf("saved clipboard delay %v, want 2 min", cfg.Settings.ClipboardClear())
	}

	// A delay set by hand stays choosable.
	secs := 90
	cfg.Settings.ClipboardClearSeconds = &secs
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	w.showSettings()
	s = w.screen.(*settings)
	if s.clear.Selected != "After 90 s" {
		t.Errorf("a hand-set delay shows as %q", s.clear.Selected)
	}
}

func TestSettingsStartAtLogin(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent(), work)
	var set []bool
	enabled := true
	w.autostart = Autostart{
		Enabled: func() (bool, error) { return enabled, nil },
		Set: func(on bool) error {
			set = append(set, on)
			if len(set) == 2 {
				return errors.New("the autostart directory is read-only")
			}
			return nil
		},
	}
	w.showSettings()
	settle(w)
	s := w.screen.(*settings)
	if !s.login.Checked {
		t.Fatal("start at login is unchecked, but the entry is there")
	}
	test.Tap(s.login)
	settle(w)
	if !slices.Equal(set, []bool{false}) || !showsText(t, w, "will no longer start when you log in") {
		t.Errorf("unchecking: set %v, shows %q", set, visibleTexts(t, w))
	}
	test.Tap(s.login)
	settle(w)
	if s.login.Checked || !showsText(t, w, "Start at login was not changed: the autostart directory is read-only") {
		t.Errorf("a failure: checked %v, shows %q; want unchecked again and the reason", s.login.Checked, visibleTexts(t, w))
	}
}
