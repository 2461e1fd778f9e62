package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

func TestProfileStatusTexts(t *testing.T) {
	retryAt, expiry := testNow.Add(30*time.Second), testNow.Add(42*time.Minute)
	tests := []struct {
		name     string
		e        auth.Event
		known    bool
		agentErr error
		want     string
		imp      widget.Importance
	}{
		{"agent starting", auth.Event{}, false, localapi.ErrNotRunning, "Waiting for the Tokentray agent…", widget.LowImportance},
		{"agent broken", auth.Event{}, false, errors.New("the agent ended the event stream"), "The agent does not answer: the agent ended the event stream", widget.DangerImportance},
		{"not read yet", auth.Event{}, false, nil, "The agent has not read this profile yet", widget.LowImportance},
		{"none", auth.Event{State: auth.StateNone}, true, nil, "No token yet", widget.LowImportance},
		{"valid", auth.Event{State: auth.StateValid, Expiry: expiry}, true, nil, "Valid · expires in 42 min", widget.MediumImportance},
		{"valid for long", auth.Event{State: auth.StateValid, Expiry: testNow.Add(26*time.Hour + 5*time.Minute)}, true, nil, "Valid · expires in 26 h", widget.MediumImportance},
		{"expired", auth.Event{State: auth.StateValid, Expiry: testNow.Add(-time.Second)}, true, nil, "Expired · renewing", widget.WarningImportance},
		{"refused", auth.Event{State: auth.StateValid, Expiry: expiry, Refused: "https://api.example.com answers 401"}, true, nil,
			"Refused by its API: https://api.example.com answers 401 · token valid for 42 min", widget.WarningImportance},
		{"refreshing", auth.Event{State: auth.StateRefreshing, Expiry: expiry}, true, nil, "Refreshing…", widget.MediumImportance},
		{"retrying", auth.Event{State: auth.StateRetrying, RetryAt: retryAt, Err: "server error 503"}, true, nil, "Retrying in 30 s: server error 503", widget.WarningImportance},
		{"retrying with a token", auth.Event{State: auth.StateRetrying, RetryAt: retryAt, Expiry: expiry, Err: "server error 503"}, true, nil,
			"Retrying in 30 s: server error 503 · token valid for 42 min", widget.WarningImportance},
		{"needs user", auth.Event{State: auth.StateNeedsUser, Err: "client secret rejected"}, true, nil, "Needs you: client secret rejected", widget.DangerImportance},
		{"keychain", auth.Event{State: auth.StateKeychain, RetryAt: retryAt, Expiry: expiry, Err: "the keychain did not answer"}, true, nil,
			"Keychain not answering · retrying in 30 s: the keychain did not answer", widget.WarningImportance},
	}
	for _, tt := range tests {
		st := profileStatus(tt.e, tt.known, tt.agentErr, testNow)
		if st.text != tt.want || st.importance != tt.imp || st.icon == nil {
			t.Errorf("%s: %q (importance %d, icon %v), want %q (importance %d)", tt.name, st.text, st.importance, st.icon != nil, tt.want, tt.imp)
		}
	}
}

func TestCountdown(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "expired", 59 * time.Second: "0:59", 41*time.Minute + 59*time.Second: "41:59", 65 * time.Minute: "1:05:00",
	} {
		if got := countdown(d); got != want {
			t.Errorf("countdown(%v) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2025, 9, 24, 10, 0, 0, 0, time.Local)
	if got := formatExpiry(now.Add(5*time.Hour), now); got != "15:00" {
		t.Errorf("later today = %q, want 15:00", got)
	}
	if got := formatExpiry(now.Add(24*time.Hour), now); got != "Thu 25 Sep 10:00" {
		t.Errorf("tomorrow = %q, want Thu 25 Sep 10:00", got)
	}
}

// TestProfileListLive shows three profiles as the agent reports them, then
// follows its events as they come.
func TestProfileListLive(t *testing.T) {
	ag := newFakeAgent(
		auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(42 * time.Minute)},
		auth.Event{Profile: "home", State: auth.StateNeedsUser, Err: "client secret rejected"},
		auth.Event{Profile: "lab", State: auth.StateRetrying, Expiry: testNow.Add(12 * time.Minute), RetryAt: testNow.Add(30 * time.Second), Err: "server error 503"},
	)
	ag.token = localapi.TokenResponse{Expiry: testNow.Add(42 * time.Minute)}
	w, path := newTestWindow(t, ag, work, home, lab)
	for _, want := range []string{
		"Profiles", "work", "Identity · https://api.nfl.com", "home", "Web grant · https://api.polar.sh",
		"Valid · expires in 42 min",
		"Needs you: client secret rejected",
		"Retrying in 30 s: server error 503 · token valid for 12 min",
	} {
		if !showsText(t, w, want) {
			t.Errorf("the list does not show %q; it shows %q", want, visibleTexts(t, w))
		}
	}
	assertMarkup(t, "profiles.xml", w.Canvas())
	if _, isList := w.Canvas().Focused().(*keyList); !isList {
		t.Errorf("the focus is on %T, want the list, so the arrow keys and Enter choose a profile", w.Canvas().Focused())
	}

	ag.emit(auth.Event{Profile: "home", State: auth.StateRefreshing})
	settle(w)
	ag.emit(auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(3 * time.Hour)})
	settle(w)
	if !showsText(t, w, "Refreshing…") || !showsText(t, w, "Valid · expires in 3 h") || showsText(t, w, "Needs you") {
		t.Errorf("after two events the list shows %q", visibleTexts(t, w))
	}

	// A profile the CLI added shows up with its first event.
	cfg, _ := store.Load(path)
	cfg.Put(store.Profile{Name: "cli", Flow: store.FlowIdentity, BaseURL: "https://cli.example", ClientKey: "k"})
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	ag.emit(auth.Event{Profile: "cli", State: auth.StateNone})
	settle(w)
	if !showsText(t, w, "https://cli.example") {
		t.Errorf("a profile added by the CLI does not show: %q", visibleTexts(t, w))
	}

	copies := buttons(t, w, "Copy token")
	if len(copies) != 4 {
		t.Fatalf("%d Copy token buttons, want one per profile", len(copies))
	}
	test.Tap(copies[1])
	settle(w)
	if calls := ag.Calls(); !slices.Contains(calls, "copy home") {
		t.Errorf("agent calls = %q, want the agent to copy home's token", calls)
	}
	if !showsText(t, w, "Token copied · valid until 10:42") {
		t.Errorf("copying says %q", visibleTexts(t, w))
	}

	// Enter on the highlighted profile opens its token view.
	l := w.screen.(*profileList)
	w.Canvas().Focus(l.list) // the tap on Copy took it
	l.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	l.list.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	settle(w)
	if v := tokenViewOf(t, w); v.p.Name != "home" {
		t.Errorf("Enter opened %s, want home", v.p.Name)
	}
}

func TestAgentGoneAndBack(t *testing.T) {
	ag := newFakeAgent(auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(time.Hour)})
	ag.eventsErr = localapi.ErrNotRunning
	w, _ := newTestWindow(t, ag, work)
	// Before the first event the list says it waits: the GUI starts the
	// agent when none answers.
	if !showsText(t, w, "Waiting for the Tokentray agent") {
		t.Errorf("while the agent starts the list shows %q", visibleTexts(t, w))
	}
	w.AgentStarted(errors.New("the Tokentray agent did not start: see /tmp/tokentray.log"))
	if !w.banner.Visible() || !showsText(t, w, "did not start: see /tmp/tokentray.log") {
		t.Errorf("the agent's failure is not shown: %q", visibleTexts(t, w))
	}
	w.AgentStarted(nil)
	if w.banner.Visible() {
		t.Error("the banner stays once the agent runs")
	}
	// The window connects again after reconnectDelay.
	select {
	case <-ag.subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("the window did not follow the events again")
	}
	settle(w)
	if !showsText(t, w, "Valid · expires in 60 min") {
		t.Errorf("after reconnecting the list shows %q", visibleTexts(t, w))
	}
}

func TestDuplicateProfile(t *testing.T) {
	ag := newFakeAgent()
	w, path := newTestWindow(t, ag, work, store.Profile{Name: "work-copy", Flow: store.FlowIdentity, BaseURL: "https://x.example", ClientKey: "k"})
	k := w.keychain()
	if err := k.SetClientSecret("work", testSecret); err != nil {
		t.Fatal(err)
	}
	w.showToken("work")
	settle(w)
	test.Tap(button(t, w, "Duplicate"))
	ed := editorOf(t, w)
	if ed.name.Text != "work-copy-2" || ed.name.Disabled() || ed.clientKey.Text != "k1" {
		t.Errorf("duplicate: name %q (disabled %v), key %q; want work-copy-2, editable, k1", ed.name.Text, ed.name.Disabled(), ed.clientKey.Text)
	}
	if !strings.Contains(ed.secret.PlaceHolder, "copies work's secret") {
		t.Errorf("secret placeholder %q, want it to say a blank copies work's", ed.secret.PlaceHolder)
	}
	test.Tap(ed.save)
	settle(w)
	cfg, _ := store.Load(path)
	got, ok := cfg.Profile("work-copy-2")
	if want := work; !ok || got.ClientKey != want.ClientKey || got.BaseURL != want.BaseURL || got.Flow != want.Flow {
		t.Errorf("duplicate saved as %+v (found %v), want work's settings", got, ok)
	}
	if s, err := k.ClientSecret("work-copy-2"); err != nil || s != testSecret {
		t.Errorf("the duplicate's secret: %v, copied %v", err, s == testSecret)
	}
	if _, ok := cfg.Profile("work"); !ok {
		t.Error("duplicating removed the original")
	}
}
