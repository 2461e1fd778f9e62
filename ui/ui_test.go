package ui

import (
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// TestMain pins the time zone, so that times in goldens read the same
// everywhere.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

// fakeAgent records the calls the window makes and answers as told. Its
// event stream sends initial, then whatever emit is given, synchronously.
type fakeAgent struct {
	mu         sync.Mutex
	calls      []string
	initial    []auth.Event
	eventsErr  error // the first Events call fails with it
	emitFn     func(auth.Event)
	subscribed chan struct{}
	reloadErr  error
	token      localapi.TokenResponse
	tokenErr   error
	testedErr  error
}

func newFakeAgent(initial ...auth.Event) *fakeAgent {
	return &fakeAgent{initial: initial, subscribed: make(chan struct{})}
}

func (f *fakeAgent) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeAgent) Events(ctx context.Context, fn func(auth.Event)) error {
	f.mu.Lock()
	err := f.eventsErr
	f.eventsErr = nil
	f.mu.Unlock()
	if err != nil {
		return err
	}
	for _, e := range f.initial {
		fn(e)
	}
	f.mu.Lock()
	f.emitFn = fn
	f.mu.Unlock()
	close(f.subscribed)
	<-ctx.Done()
	return nil
}

// emit sends e down the event stream, on the calling goroutine.
func (f *fakeAgent) emit(e auth.Event) {
	f.mu.Lock()
	fn := f.emitFn
	f.mu.Unlock()
	fn(e)
}

func (f *fakeAgent) Token(_ context.Context, profile string) (localapi.TokenResponse, error) {
	f.record("token " + profile)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token, f.tokenErr
}

func (f *fakeAgent) Copy(_ context.Context, profile string) (localapi.TokenResponse, error) {
	f.record("copy " + profile)
	f.mu.Lock()
	defer f.mu.Unlock()
	return localapi.TokenResponse{Profile: profile, Expiry: f.token.Expiry}, f.tokenErr
}

func (f *fakeAgent) CopyHeader(_ context.Context, profile string) (localapi.TokenResponse, error) {
	f.record("copy header " + profile)
	f.mu.Lock()
	defer f.mu.Unlock()
	return localapi.TokenResponse{Profile: profile, Expiry: f.token.Expiry}, f.tokenErr
}

func (f *fakeAgent) Refresh(_ context.Context, profile string) error {
	f.record("refresh " + profile)
	return nil
}

func (f *fakeAgent) Reload(context.Context) error {
	f.record("reload")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadErr
}

func (f *fakeAgent) Tested(_ context.Context, profile string) error {
	f.record("tested " + profile)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.testedErr
}

func (f *fakeAgent) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

const testSecret = "CZuvCL49d9OwfGsR"

// testNow is the window's clock in these tests.
var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// jwtWith is an unsigned-looking JWT carrying payload, as the window sees
// one: it never verifies the signature.
func jwtWith(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString([]byte("signature-of-the-token"))
}

// newTestWindow opens the window on a fresh config path holding profiles,
// with its keychain in memory, and waits until it follows ag's
// events (unless ag fails the first Events call).
func newTestWindow(t *testing.T, ag *fakeAgent, profiles ...store.Profile) (*Window, string) {
	t.Helper()
	a := test.NewTempApp(t)
	path := filepath.Join(t.TempDir(), "tokentray", "config.json")
	if len(profiles) > 0 {
		cfg, err := store.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DeviceID = "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d"
		for _, p := range profiles {
			cfg.Put(p)
		}
		if err := cfg.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	w := newWindow(a, ag, path, func() time.Time { return testNow })
	w.deviceInfo = func() auth.DeviceInfo {
		return auth.DeviceInfo{Model: auth.DefaultDeviceModel, Version: auth.DefaultDeviceVersion, OSName: "Linux", OSVersion: "24.04"}
	}
	w.detectNetwork = func() auth.NetworkType { return auth.NetworkWifi }
	keychain := store.NewMemoryKeychain()
	w.openKeychain = func(string, store.Passphrase) store.Keychain { return keychain }
	// Widget updates from goroutines wait for settle, which runs them on
	// the test's goroutine: Fyne's test driver would run them at once on
	// whichever goroutine asked, racing with the test's reads.
	updates := make(chan func(), 1024)
	w.do = func(f func()) { updates <- f }
	testUpdates[w] = updates
	w.autostart = Autostart{Enabled: func() (bool, error) { return false, nil }, Set: func(bool) error { return nil }}
	w.showHome()
	waitForEvents := ag.eventsErr == nil
	w.startLoops(time.Hour) // no tick during a test: the clock stands still
	t.Cleanup(func() {
		w.Shutdown()
		w.Close()
	})
	if waitForEvents {
		select {
		case <-ag.subscribed:
		case <-time.After(10 * time.Second):
			t.Fatal("the window does not follow the agent's events")
		}
	}
	settle(w)
	return w, path
}

// testUpdates holds each test window's queue of widget updates.
var testUpdates = map[*Window]chan func(){}

// settle waits for the background work, then runs the widget updates it
// queued (which may start more work), until nothing is left. Background
// goroutines never wait for their updates to run, so Wait returns.
func settle(w *Window) {
	updates := testUpdates[w]
	for {
		w.work.Wait()
		if len(updates) == 0 {
			return
		}
		for len(updates) > 0 {
			(<-updates)()
		}
	}
}

// visibleTexts returns every text the window shows: labels, buttons, card
// titles, entries and whatever their renderers draw, skipping hidden
// objects.
func visibleTexts(t *testing.T, w fyne.Window) []string {
	t.Helper()
	var out []string
	walk(t, w.Canvas().Content(), func(o fyne.CanvasObject) { out = append(out, visibleTextsOf(o)...) })
	return out
}

// visibleTextsOf is the text o itself shows, if it is one that does.
func visibleTextsOf(o fyne.CanvasObject) []string {
	switch v := o.(type) {
	case *widget.Label:
		return []string{v.Text}
	case *widget.Button:
		return []string{v.Text}
	case *widget.Card:
		return []string{v.Title, v.Subtitle}
	case *canvas.Text:
		return []string{v.Text}
	}
	return nil
}

// walk calls fn on every visible object under o, overlays included.
func walk(t *testing.T, o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	fn(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(t, c, fn)
		}
	case fyne.Widget:
		for _, c := range test.TempWidgetRenderer(t, v).Objects() {
			walk(t, c, fn)
		}
	}
}

func showsText(t *testing.T, w fyne.Window, want string) bool {
	t.Helper()
	return slices.ContainsFunc(visibleTexts(t, w), func(s string) bool { return strings.Contains(s, want) })
}

// buttons returns the visible buttons labelled text, in screen order,
// dialogs included.
func buttons(t *testing.T, w fyne.Window, text string) []*widget.Button {
	t.Helper()
	var out []*widget.Button
	find := func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			out = append(out, b)
		}
	}
	walk(t, w.Canvas().Content(), find)
	for _, o := range w.Canvas().Overlays().List() {
		walk(t, o, find)
	}
	return out
}

func button(t *testing.T, w fyne.Window, text string) *widget.Button {
	t.Helper()
	b := buttons(t, w, text)
	if len(b) != 1 {
		t.Fatalf("%d buttons %q, want 1; the window shows %q", len(b), text, visibleTexts(t, w))
	}
	return b[0]
}

func editorOf(t *testing.T, w *Window) *editor {
	t.Helper()
	return screenOf[*editor](t, w, "the editor")
}

func tokenViewOf(t *testing.T, w *Window) *tokenView {
	t.Helper()
	return screenOf[*tokenView](t, w, "the token view")
}

// screenOf is the screen the window shows, which must be an S (called
// what in the failure).
func screenOf[S screen](t *testing.T, w *Window, what string) S {
	t.Helper()
	s, ok := w.screen.(S)
	if !ok {
		t.Fatalf("the window shows %T (%q), want %s", w.screen, visibleTexts(t, w), what)
	}
	return s
}

// visibleErrors are the field errors on show.
func visibleErrors(ed *editor) map[*formEntry]string {
	out := map[*formEntry]string{}
	for _, c := range ed.checks {
		if c.err.Visible() {
			out[c.entry] = c.err.Text
		}
	}
	return out
}

func noFileWritten(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the config file was written (stat: %v)", err)
	}
}

var (
	work = store.Profile{Name: "work", Flow: store.FlowIdentity, BaseURL: "https://api.nfl.com", ClientKey: "k1", Network: "auto"}
	home = store.Profile{Name: "home", Flow: store.FlowWeb, BaseURL: "https://api.polar.sh", ClientID: "c2", Scope: "openid profile"}
	lab  = store.Profile{Name: "lab", Flow: store.FlowIdentity, BaseURL: "http://127.0.0.1:9001", ClientKey: "k3"}
)

// A config that does not parse is explained, with its file and line, and
// left exactly as it was for the person to mend.
func TestBrokenConfigIsExplainedNotOverwritten(t *testing.T) {
	w, path := newTestWindow(t, newFakeAgent())
	broken := []byte("{\n  \"schema\": 1,\n  \"profiles\": [,]\n}\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	w.showHome()
	settle(w)
	for _, want := range []string{"Tokentray cannot read its profiles", path + ", line 3"} {
		if !showsText(t, w, want) {
			t.Errorf("the window does not say %q; it shows %q", want, visibleTexts(t, w))
		}
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, broken) {
		t.Errorf("the broken config was changed: %q, %v", got, err)
	}
}
