package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// fakeAgent records the calls the window makes and answers as told.
type fakeAgent struct {
	mu        sync.Mutex
	calls     []string
	status    agent.Status
	statusErr error
	reloadErr error
	token     agent.TokenResponse
	tokenErr  error
}

func (f *fakeAgent) Status(context.Context) (agent.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "status")
	return f.status, f.statusErr
}

func (f *fakeAgent) Token(_ context.Context, profile string) (agent.TokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "token "+profile)
	return f.token, f.tokenErr
}

func (f *fakeAgent) Copy(_ context.Context, profile string) (agent.TokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "copy "+profile)
	return agent.TokenResponse{Profile: profile, Expiry: f.token.Expiry}, f.tokenErr
}

func (f *fakeAgent) Reload(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "reload")
	return f.reloadErr
}

func (f *fakeAgent) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

const (
	testToken  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	testSecret = "CZuvCL49d9OwfGsR"
)

// newTestWindow opens the window on a fresh config path, with the keychain
// mocked in memory.
func newTestWindow(t *testing.T, ag Agent, profiles ...store.Profile) (*Window, string) {
	t.Helper()
	keyring.MockInit()
	a := test.NewTempApp(t)
	path := filepath.Join(t.TempDir(), "tokentray", "config.json")
	if len(profiles) > 0 {
		cfg, err := store.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range profiles {
			cfg.Put(p)
		}
		if err := cfg.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	w := New(a, ag, path)
	t.Cleanup(func() {
		w.Shutdown()
		w.Close()
	})
	return w, path
}

// openForm puts a fresh add-profile form in w and returns it.
func openForm(w *Window) *profileForm {
	f := newProfileForm(w, nil)
	w.show(f.content)
	return f
}

// visibleTexts returns every text the window shows: labels, buttons, card
// titles and whatever their renderers draw, skipping hidden objects.
func visibleTexts(t *testing.T, w fyne.Window) []string {
	t.Helper()
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *widget.Label:
			out = append(out, v.Text)
		case *widget.Button:
			out = append(out, v.Text)
		case *widget.Card:
			out = append(out, v.Title, v.Subtitle)
		case *canvas.Text:
			out = append(out, v.Text)
		}
		switch v := o.(type) {
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.TempWidgetRenderer(t, v).Objects() {
				walk(c)
			}
		}
	}
	walk(w.Content())
	return out
}

func showsText(t *testing.T, w fyne.Window, want string) bool {
	t.Helper()
	return slices.ContainsFunc(visibleTexts(t, w), func(s string) bool { return strings.Contains(s, want) })
}

// buttons returns the visible buttons labelled text, in screen order.
func buttons(t *testing.T, w fyne.Window, text string) []*widget.Button {
	t.Helper()
	var out []*widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				out = append(out, v)
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.TempWidgetRenderer(t, v).Objects() {
				walk(c)
			}
		}
	}
	walk(w.Content())
	return out
}

func TestNoProfileShowsFormWithDefaults(t *testing.T) {
	w, _ := newTestWindow(t, &fakeAgent{})
	if !showsText(t, w, "Add a profile") {
		t.Fatalf("with no profile the window shows %q, want the add-profile form", visibleTexts(t, w))
	}
	if len(buttons(t, w, "Cancel")) != 0 {
		t.Error("the first profile's form offers Cancel, but there is nothing to go back to")
	}

	f := openForm(w)
	if f.name.Text != "" || f.clientKey.Text != "" || f.secret.Text != "" {
		t.Errorf("name, key, secret = %q, %q, %q; want all empty", f.name.Text, f.clientKey.Text, f.secret.Text)
	}
	if f.baseURL.Text != "https://api.nfl.com" {
		t.Errorf("base URL = %q, want https://api.nfl.com", f.baseURL.Text)
	}
	if !f.secret.Password {
		t.Error("the client secret entry shows what is typed")
	}
	if f.network.Selected != "auto" {
		t.Errorf("network = %q, want auto", f.network.Selected)
	}
	if want := []string{"auto", "wifi", "ethernet", "cellular", "other"}; !slices.Equal(f.network.Options, want) {
		t.Errorf("network options = %q, want %q", f.network.Options, want)
	}
	for _, c := range f.checks {
		if c.err.Visible() {
			t.Errorf("an error shows before Save: %q", c.err.Text)
		}
	}
	if f.result.Visible() || f.copy.Visible() {
		t.Error("a result shows before Save")
	}
}

func TestFormValidation(t *testing.T) {
	const badName = "my work/profile"
	if store.ValidateProfileName(badName) == nil {
		t.Fatalf("store accepts %q; the test needs a name it rejects", badName)
	}
	const plainURL = "http://api.example.com"
	if auth.CheckBaseURL(plainURL) == nil {
		t.Fatalf("auth accepts %q; the test needs a URL it rejects", plainURL)
	}

	tests := []struct {
		name                      string
		profile, url, key, secret string
		wantErr                   func(f *profileForm) *widget.Label
		wantText                  string
	}{
		{"bad name", badName, "", "key-1", testSecret,
			func(f *profileForm) *widget.Label { return f.checks[0].err }, store.ValidateProfileName(badName).Error()},
		{"plain http to a remote host", "work", plainURL, "key-1", testSecret,
			func(f *profileForm) *widget.Label { return f.checks[1].err }, auth.CheckBaseURL(plainURL).Error()},
		{"missing key", "work", "", "", testSecret,
			func(f *profileForm) *widget.Label { return f.checks[2].err }, "Enter the client key."},
		{"missing secret", "work", "", "key-1", "",
			func(f *profileForm) *widget.Label { return f.checks[3].err }, "Enter the client secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ag := &fakeAgent{}
			w, path := newTestWindow(t, ag)
			f := openForm(w)
			test.Type(f.name, tt.profile)
			if tt.url != "" {
				f.baseURL.SetText(tt.url)
			}
			test.Type(f.clientKey, tt.key)
			test.Type(f.secret, tt.secret)
			test.Tap(f.save)
			w.work.Wait()

			errLabel := tt.wantErr(f)
			if !errLabel.Visible() || errLabel.Text != tt.wantText {
				t.Errorf("error under the field: visible %v, %q; want %q", errLabel.Visible(), errLabel.Text, tt.wantText)
			}
			if !showsText(t, w, tt.wantText) {
				t.Errorf("the window does not show %q", tt.wantText)
			}
			for _, c := range f.checks {
				if c.err != errLabel && c.err.Visible() {
					t.Errorf("a valid field shows an error: %q", c.err.Text)
				}
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the config file was written (stat: %v)", err)
			}
			if secret, err := (store.Keychain{}).ClientSecret(tt.profile); err == nil {
				t.Errorf("the keychain holds a secret of %d bytes", len(secret))
			}
			if calls := ag.Calls(); len(calls) != 0 {
				t.Errorf("the agent was asked %q", calls)
			}
			if f.result.Visible() {
				t.Errorf("a result shows: %q", f.result.Text)
			}
		})
	}
}

func TestFormErrorGoesAwayWhenFixed(t *testing.T) {
	w, _ := newTestWindow(t, &fakeAgent{})
	f := openForm(w)
	test.Tap(f.save)
	keyErr := f.checks[2].err
	if !keyErr.Visible() {
		t.Fatal("no error under an empty client key")
	}
	test.Type(f.clientKey, "k")
	if keyErr.Visible() {
		t.Errorf("the error %q stays after the key was typed", keyErr.Text)
	}
}

func TestFormSavesAndShowsToken(t *testing.T) {
	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	ag := &fakeAgent{token: agent.TokenResponse{Profile: "work", AccessToken: testToken, Expiry: expiry}}
	w, path := newTestWindow(t, ag)
	f := openForm(w)
	test.Type(f.name, "work")
	f.baseURL.SetText("http://127.0.0.1:8443")
	test.Type(f.clientKey, "key-1")
	test.Type(f.secret, testSecret)
	f.network.SetSelected("wifi")
	test.Tap(f.save)
	w.work.Wait()

	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := cfg.Profile("work")
	if !ok || got.Name != "work" || got.Flow != "identity" || got.BaseURL != "http://127.0.0.1:8443" ||
		got.ClientKey != "key-1" || got.Network != "wifi" {
		t.Errorf("saved profile = %+v (found %v), want work, identity, http://127.0.0.1:8443, key-1, wifi", got, ok)
	}
	if cfg.DeviceID == "" {
		t.Error("saving the first profile left no device ID")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testSecret) {
		t.Error("the client secret is in the config file")
	}
	if secret, err := (store.Keychain{}).ClientSecret("work"); err != nil || secret != testSecret {
		t.Errorf("keychain secret: err %v, matches %v", err, secret == testSecret)
	}
	if calls, want := ag.Calls(), []string{"reload", "token work"}; !slices.Equal(calls, want) {
		t.Errorf("agent calls = %q, want %q", calls, want)
	}

	wantResult := "Token ready · valid until " + expiry.Local().Format("15:04")
	if !f.result.Visible() || !strings.HasPrefix(f.result.Text, "Token ready · valid until ") ||
		!strings.HasSuffix(f.result.Text, expiry.Local().Format("15:04")) {
		t.Errorf("result = %q (visible %v), want %q", f.result.Text, f.result.Visible(), wantResult)
	}
	if !f.copy.Visible() || !f.done.Visible() {
		t.Errorf("after a token: Copy token visible %v, Show profiles visible %v; want both", f.copy.Visible(), f.done.Visible())
	}

	test.Tap(f.copy)
	w.work.Wait()
	if calls := ag.Calls(); !slices.Contains(calls, "copy work") {
		t.Errorf("agent calls = %q, want the agent to copy work's token", calls)
	}
	if !strings.HasPrefix(f.result.Text, "Token copied") {
		t.Errorf("after Copy token the result says %q", f.result.Text)
	}
	for _, s := range visibleTexts(t, w) {
		if strings.Contains(s, testToken[:20]) || strings.Contains(s, testSecret) {
			t.Fatalf("the window shows a secret: %q", s)
		}
	}

	test.Tap(f.done)
	w.work.Wait()
	if !showsText(t, w, "Profiles") || !showsText(t, w, "http://127.0.0.1:8443") {
		t.Errorf("Show profiles shows %q, want the list with the new profile", visibleTexts(t, w))
	}
}

func TestFormShowsAgentError(t *testing.T) {
	tests := []struct {
		name      string
		agent     *fakeAgent
		wantCalls []string
		wantText  string
	}{
		{"token refused",
			&fakeAgent{tokenErr: &agent.APIError{Status: 502, Message: "profile work: the identity API answered 401 Unauthorized"}},
			[]string{"reload", "token work"},
			"Saved, but there is no token yet: profile work: the identity API answered 401 Unauthorized"},
		{"no agent",
			&fakeAgent{reloadErr: agent.ErrNotRunning},
			[]string{"reload"},
			"Saved, but there is no token yet: the Tokentray agent is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, path := newTestWindow(t, tt.agent)
			f := openForm(w)
			test.Type(f.name, "work")
			test.Type(f.clientKey, "key-1")
			test.Type(f.secret, testSecret)
			test.Tap(f.save)
			w.work.Wait()

			if calls := tt.agent.Calls(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("agent calls = %q, want %q", calls, tt.wantCalls)
			}
			if !f.result.Visible() || !strings.HasPrefix(f.result.Text, tt.wantText) {
				t.Errorf("result = %q (visible %v), want it to start with %q", f.result.Text, f.result.Visible(), tt.wantText)
			}
			if f.result.Importance != widget.DangerImportance {
				t.Error("the agent's error is not shown as an error")
			}
			if f.copy.Visible() {
				t.Error("Copy token shows without a token")
			}
			if f.save.Disabled() {
				t.Error("Save stays disabled, so the profile cannot be corrected")
			}
			cfg, err := store.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cfg.Profile("work"); !ok {
				t.Error("the profile was not saved")
			}
		})
	}
}

func TestProfileList(t *testing.T) {
	expiry := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	ag := &fakeAgent{
		status: agent.Status{Profiles: []agent.ProfileStatus{
			{Name: "work", State: "valid", Expiry: expiry},
			{Name: "home", State: "needs user", Error: "profile home: the identity API answered 401 Unauthorized"},
			{Name: "lab", State: "retrying", Expiry: expiry, RetryAt: expiry.Add(-20 * time.Minute), Error: "server answered 503"},
		}},
		token: agent.TokenResponse{Profile: "home", AccessToken: testToken, Expiry: expiry},
	}
	w, _ := newTestWindow(t, ag,
		store.Profile{Name: "work", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k1", Network: "auto"},
		store.Profile{Name: "home", Flow: "identity", BaseURL: "http://127.0.0.1:9000", ClientKey: "k2", Network: "wifi"},
		store.Profile{Name: "lab", Flow: "identity", BaseURL: "http://127.0.0.1:9001", ClientKey: "k3"},
	)
	w.work.Wait()

	for _, want := range []string{
		"Profiles", "work", "https://api.nfl.com", "home", "http://127.0.0.1:9000",
		"Token valid until " + expiry.Local().Format("15:04"),
		"Needs you: profile home: the identity API answered 401 Unauthorized",
		"Retrying at " + expiry.Add(-20*time.Minute).Local().Format("15:04") + ": server answered 503 · the token stays valid until " + expiry.Local().Format("15:04"),
	} {
		if !showsText(t, w, want) {
			t.Errorf("the list does not show %q; it shows %q", want, visibleTexts(t, w))
		}
	}

	copies := buttons(t, w, "Copy token")
	if len(copies) != 3 {
		t.Fatalf("%d Copy token buttons, want one per profile", len(copies))
	}
	test.Tap(copies[1])
	w.work.Wait()
	if calls := ag.Calls(); !slices.Contains(calls, "copy home") {
		t.Errorf("agent calls = %q, want the agent to copy home's token", calls)
	}
	if !showsText(t, w, "Token copied") {
		t.Error("copying says nothing")
	}

	add := buttons(t, w, "Add profile")
	if len(add) != 1 {
		t.Fatalf("%d Add profile buttons, want 1", len(add))
	}
	test.Tap(add[0])
	if !showsText(t, w, "Add a profile") || len(buttons(t, w, "Cancel")) != 1 {
		t.Fatalf("Add profile shows %q, want the form with Cancel", visibleTexts(t, w))
	}
	test.Tap(buttons(t, w, "Cancel")[0])
	w.work.Wait()
	if !showsText(t, w, "Profiles") || showsText(t, w, "Add a profile") {
		t.Errorf("Cancel shows %q, want the list", visibleTexts(t, w))
	}
}

func TestFormRefusesExistingName(t *testing.T) {
	ag := &fakeAgent{}
	w, _ := newTestWindow(t, ag, store.Profile{Name: "work", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k1", Network: "auto"})
	w.work.Wait()
	f := newProfileForm(w, []string{"work"})
	w.show(f.content)
	test.Type(f.name, "work")
	test.Type(f.clientKey, "other-key")
	test.Type(f.secret, testSecret)
	test.Tap(f.save)
	w.work.Wait()
	if !f.checks[0].err.Visible() || !strings.Contains(f.checks[0].err.Text, "exists already") {
		t.Errorf("name error = %q, want one about the existing profile", f.checks[0].err.Text)
	}
	if slices.Contains(ag.Calls(), "reload") {
		t.Error("the existing profile was overwritten")
	}
}

func TestAgentStartedShowsError(t *testing.T) {
	ag := &fakeAgent{statusErr: agent.ErrNotRunning}
	w, _ := newTestWindow(t, ag, store.Profile{Name: "work", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k1", Network: "auto"})
	w.work.Wait()
	if !showsText(t, w, "Waiting for the Tokentray agent") {
		t.Errorf("while the agent starts the list shows %q", visibleTexts(t, w))
	}
	w.AgentStarted(errors.New("the Tokentray agent did not start: see /tmp/tokentray.log"))
	w.work.Wait()
	if !w.banner.Visible() || !showsText(t, w, "did not start: see /tmp/tokentray.log") {
		t.Errorf("the agent's failure is not shown: %q", visibleTexts(t, w))
	}
	w.AgentStarted(nil)
	w.work.Wait()
	if w.banner.Visible() {
		t.Error("the banner stays once the agent runs")
	}
}

func TestFormatExpiry(t *testing.T) {
	now := time.Date(2025, 9, 24, 10, 0, 0, 0, time.Local)
	if got := formatExpiry(now.Add(5*time.Hour), now); got != "15:00" {
		t.Errorf("later today = %q, want 15:00", got)
	}
	if got := formatExpiry(now.Add(24*time.Hour), now); got != "Thu 25 Sep 10:00" {
		t.Errorf("tomorrow = %q, want Thu 25 Sep 10:00", got)
	}
}
