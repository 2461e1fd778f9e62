package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

const testSub = "0b0cbd7c-7a8f-4d8b-9b35-3c1a2d4f5e6a"

func TestNoProfileShowsEditorWithDefaults(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent())
	ed := editorOf(t, w)
	if !showsText(t, w, "Add a profile") {
		t.Errorf("with no profile the window shows %q, want the add-profile editor", visibleTexts(t, w))
	}
	if len(buttons(t, w, "Cancel")) != 0 {
		t.Error("the first profile's editor offers Cancel, but there is nothing to go back to")
	}
	if ed.name.Text != "" || ed.clientKey.Text != "" || ed.secret.Text != "" {
		t.Errorf("name, key, secret = %q, %q, %q; want all empty", ed.name.Text, ed.clientKey.Text, ed.secret.Text)
	}
	if ed.baseURL.Text != "https://api.nfl.com" || ed.selectedFlow() != store.FlowIdentity {
		t.Errorf("base URL %q, flow %q; want https://api.nfl.com, identity", ed.baseURL.Text, ed.selectedFlow())
	}
	if !ed.secret.Password || !ed.session.Password {
		t.Error("a secret entry shows what is typed")
	}
	if want := []string{"auto", "wifi", "ethernet", "cellular", "other"}; ed.network.Selected != "auto" || !slices.Equal(ed.network.Options, want) {
		t.Errorf("network = %q of %q, want auto of %q", ed.network.Selected, ed.network.Options, want)
	}
	// The device panel: this installation's id, device_info decoded, the
	// network detected now.
	for _, want := range []string{"Device", "made when the first profile is saved", `{"model":"desktop","version":"Chrome","osName":"Linux","osVersion":"24.04"}`, "wifi"} {
		if !showsText(t, w, want) {
			t.Errorf("the device panel lacks %q: %q", want, visibleTexts(t, w))
		}
	}
	test.Type(ed.model, "laptop")
	if !strings.Contains(ed.deviceInfo.Text, `"model":"laptop"`) {
		t.Errorf("device info = %s after the model override, want model laptop", ed.deviceInfo.Text)
	}
	if showsText(t, w, "Session token") {
		t.Error("the identity flow shows the web grant's fields")
	}
	if len(visibleErrors(ed)) != 0 || ed.result.Visible() {
		t.Errorf("errors or a result show before Save: %v, %q", visibleErrors(ed), ed.result.Text)
	}
	if w.Canvas().Focused() != ed.name {
		t.Errorf("the focus is on %T, want the name field", w.Canvas().Focused())
	}
}

func TestEditorValidation(t *testing.T) {
	const badName = "my work/profile"
	if store.ValidateProfileName(badName) == nil {
		t.Fatalf("store accepts %q; the test needs a name it rejects", badName)
	}
	const plainURL = "http://api.example.com"
	if auth.CheckBaseURL(plainURL) == nil {
		t.Fatalf("auth accepts %q; the test needs a URL it rejects", plainURL)
	}
	type fields struct{ name, url, secret, key, id, session, subType, sub string }
	ok := fields{"work", "", testSecret, "key-1", "client-1", "session-1", auth.SubTypeOrganization, testSub}
	tests := []struct {
		name     string
		flow     string
		change   func(*fields)
		wantErr  func(ed *editor) *formEntry
		wantText string
	}{
		{"bad name", store.FlowIdentity, func(f *fields) { f.name = badName },
			func(ed *editor) *formEntry { return ed.name }, store.ValidateProfileName(badName).Error()},
		{"plain http to a remote host", store.FlowWeb, func(f *fields) { f.url = plainURL },
			func(ed *editor) *formEntry { return ed.baseURL }, auth.CheckBaseURL(plainURL).Error()},
		{"missing secret", store.FlowIdentity, func(f *fields) { f.secret = "" },
			func(ed *editor) *formEntry { return ed.secret }, "Enter the client secret."},
		{"missing key", store.FlowIdentity, func(f *fields) { f.key = "" },
			func(ed *editor) *formEntry { return ed.clientKey }, "Enter the client key."},
		{"missing client id", store.FlowWeb, func(f *fields) { f.id = "" },
			func(ed *editor) *formEntry { return ed.clientID }, "Enter the client ID."},
		{"missing session token", store.FlowWeb, func(f *fields) { f.session = "" },
			func(ed *editor) *formEntry { return ed.session }, "Enter the session token."},
		{"sub not a UUID", store.FlowWeb, func(f *fields) { f.sub = "not-a-uuid" },
			func(ed *editor) *formEntry { return ed.sub }, "version 4 UUID"},
		{"sub a version 1 UUID", store.FlowWeb, func(f *fields) { f.sub = "0b0cbd7c-7a8f-1d8b-9b35-3c1a2d4f5e6a" },
			func(ed *editor) *formEntry { return ed.sub }, "version 4 UUID"},
		// Polar refuses both with 400 invalid_request.
		{"sub for a user", store.FlowWeb, func(f *fields) { f.subType = auth.SubTypeUser },
			func(ed *editor) *formEntry { return ed.sub }, "a sub names an organization"},
		{"organization without a sub", store.FlowWeb, func(f *fields) { f.sub = "" },
			func(ed *editor) *formEntry { return ed.sub }, "needs the organization's id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ag := newFakeAgent()
			w, path := newTestWindow(t, ag)
			ed := editorOf(t, w)
			f := ok
			tt.change(&f)
			ed.flow.SetSelected(flowName(tt.flow))
			test.Type(ed.name, f.name)
			if f.url != "" {
				ed.baseURL.SetText(f.url)
			}
			test.Type(ed.secret, f.secret)
			// Both flows' fields are filled: the other flow's must not count.
			test.Type(ed.clientKey, f.key)
			test.Type(ed.clientID, f.id)
			test.Type(ed.session, f.session)
			ed.subType.SetSelected(f.subType)
			test.Type(ed.sub, f.sub)
			test.Tap(button(t, w, "Save"))
			settle(w)

			want := tt.wantErr(ed)
			errs := visibleErrors(ed)
			if len(errs) != 1 || !strings.Contains(errs[want], tt.wantText) {
				t.Errorf("errors on show: %v; want one, under the field, saying %q", errs, tt.wantText)
			}
			if !showsText(t, w, tt.wantText) {
				t.Errorf("the window does not show %q", tt.wantText)
			}
			noFileWritten(t, path)
			if _, err := w.keychain().ClientSecret(f.name); err == nil {
				t.Error("the keychain holds a secret")
			}
			// Test checks the same fields before it asks any server.
			test.Tap(button(t, w, "Test"))
			settle(w)
			if calls := ag.Calls(); len(calls) != 0 {
				t.Errorf("the agent was asked %q", calls)
			}
			if ed.result.Visible() {
				t.Errorf("a result shows: %q", ed.result.Text)
			}
		})
	}
}

func TestEditorErrorGoesAwayWhenFixed(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent())
	ed := editorOf(t, w)
	test.Tap(ed.save)
	if _, shown := visibleErrors(ed)[ed.clientKey]; !shown {
		t.Fatal("no error under an empty client key")
	}
	test.Type(ed.clientKey, "k")
	if msg, shown := visibleErrors(ed)[ed.clientKey]; shown {
		t.Errorf("the error %q stays after the key was typed", msg)
	}
}

func TestEditorSavesIdentityAndShowsToken(t *testing.T) {
	expiry := testNow.Add(time.Hour)
	ag := newFakeAgent()
	ag.token = localapi.TokenResponse{Profile: "work", AccessToken: jwtWith(`{"sub":"device-1"}`), Expiry: expiry}
	w, path := newTestWindow(t, ag)
	ed := editorOf(t, w)
	test.Type(ed.name, "work")
	ed.baseURL.SetText("http://127.0.0.1:8443")
	test.Type(ed.secret, testSecret)
	test.Type(ed.clientKey, "key-1")
	test.Type(ed.model, "laptop")
	ed.network.SetSelected("wifi")
	// Enter in a field saves, as the Save button does.
	ed.clientKey.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	settle(w)

	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cfg.Profile("work")
	want := store.Profile{Name: "work", Flow: "identity", BaseURL: "http://127.0.0.1:8443", ClientKey: "key-1", Network: "wifi", DeviceModel: "laptop"}
	if got != want {
		t.Errorf("saved profile = %+v, want %+v", got, want)
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
	if secret, err := w.keychain().ClientSecret("work"); err != nil || secret != testSecret {
		t.Errorf("keychain secret: err %v, matches %v", err, secret == testSecret)
	}
	if calls, want := ag.Calls(), []string{"reload", "token work"}; !slices.Equal(calls, want) {
		t.Errorf("agent calls = %q, want %q", calls, want)
	}
	v := tokenViewOf(t, w)
	if v.p.Name != "work" || !showsText(t, w, "device-1") {
		t.Errorf("after Save the window shows %q, want work's token view with its claims", visibleTexts(t, w))
	}
}

func TestEditorSavesWebGrant(t *testing.T) {
	ag := newFakeAgent()
	w, path := newTestWindow(t, ag)
	ed := editorOf(t, w)
	ed.flow.SetSelected("Web grant")
	if showsText(t, w, "Client key") || !showsText(t, w, "Session token") {
		t.Fatalf("the web grant editor shows %q", visibleTexts(t, w))
	}
	test.Type(ed.name, "polar")
	ed.baseURL.SetText("https://api.polar.sh")
	test.Type(ed.secret, testSecret)
	test.Type(ed.clientID, "client-1")
	test.Type(ed.session, "session-1")
	ed.subType.SetSelected("organization")
	test.Type(ed.sub, testSub)
	test.Type(ed.scope, " openid   profile ")
	test.Tap(ed.save)
	settle(w)

	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cfg.Profile("polar")
	want := store.Profile{Name: "polar", Flow: "web", BaseURL: "https://api.polar.sh", ClientID: "client-1", SubType: "organization", Sub: testSub, Scope: "openid profile"}
	if got != want {
		t.Errorf("saved profile = %+v, want %+v", got, want)
	}
	k := w.keychain()
	if s, err := k.SessionToken("polar"); err != nil || s != "session-1" {
		t.Errorf("session token in the keychain: %v, matches %v", err, s == "session-1")
	}
}

// TestEditorFlowSwitchesDefaultURL: choosing a flow puts in its default
// base URL, so a new web grant profile does not go to the identity API,
// unless the user typed a URL of their own.
func TestEditorFlowSwitchesDefaultURL(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent())
	ed := editorOf(t, w)
	if got := ed.baseURL.Text; got != profile.DefaultBaseURL(store.FlowIdentity) {
		t.Fatalf("a new profile starts with base URL %q", got)
	}
	ed.flow.SetSelected(flowName(store.FlowWeb))
	if got, want := ed.baseURL.Text, profile.DefaultBaseURL(store.FlowWeb); got != want {
		t.Errorf("after choosing the web grant the base URL is %q, want %q", got, want)
	}
	ed.flow.SetSelected(flowName(store.FlowIdentity))
	if got, want := ed.baseURL.Text, profile.DefaultBaseURL(store.FlowIdentity); got != want {
		t.Errorf("back on identity the base URL is %q, want %q", got, want)
	}
	const own = "https://sandbox-api.polar.sh"
	ed.baseURL.SetText(own)
	ed.flow.SetSelected(flowName(store.FlowWeb))
	if got := ed.baseURL.Text; got != own {
		t.Errorf("switching the flow replaced the typed base URL %q with %q", own, got)
	}
}

// TestEditKeepsStoredSecret edits a profile leaving the secret blank: the
// stored one stays, and the placeholder says so.
func TestEditKeepsStoredSecret(t *testing.T) {
	ag := newFakeAgent()
	w, path := newTestWindow(t, ag, home)
	k := w.keychain()
	if err := k.SetClientSecret("home", testSecret); err != nil {
		t.Fatal(err)
	}
	if err := k.SetSessionToken("home", "session-1"); err != nil {
		t.Fatal(err)
	}
	w.showToken("home")
	settle(w)
	test.Tap(button(t, w, "Edit"))
	ed := editorOf(t, w)
	if !ed.name.Disabled() || ed.name.Text != "home" {
		t.Errorf("name %q, disabled %v; want home, fixed", ed.name.Text, ed.name.Disabled())
	}
	if !strings.Contains(ed.secret.PlaceHolder, "keeps the stored secret") || !strings.Contains(ed.session.PlaceHolder, "keeps the stored secret") {
		t.Errorf("secret placeholders %q, %q; want them to say a blank keeps the stored secret", ed.secret.PlaceHolder, ed.session.PlaceHolder)
	}
	ed.scope.SetText("openid")
	test.Tap(ed.save)
	settle(w)
	if errs := visibleErrors(ed); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	cfg, _ := store.Load(path)
	if got, _ := cfg.Profile("home"); got.Scope != "openid" || got.ClientID != "c2" {
		t.Errorf("saved %+v, want scope openid and the rest kept", got)
	}
	if s, err := k.ClientSecret("home"); err != nil || s != testSecret {
		t.Errorf("client secret after the edit: %v, kept %v", err, s == testSecret)
	}
	if s, err := k.SessionToken("home"); err != nil || s != "session-1" {
		t.Errorf("session token after the edit: %v, kept %v", err, s == "session-1")
	}
}

// TestEditorTestButton fetches a token from loopback fakes of both flows
// without saving anything; a web grant's test grant is revoked again.
func TestEditorTestButton(t *testing.T) {
	identity := authtest.NewIdentityServer("key-1", testSecret)
	defer identity.Close()
	web := authtest.NewWebServer("client-1", testSecret, "session-1")
	defer web.Close()

	ag := newFakeAgent()
	w, path := newTestWindow(t, ag)
	ed := editorOf(t, w)
	test.Type(ed.name, "work")
	ed.baseURL.SetText(identity.URL)
	test.Type(ed.secret, testSecret)
	test.Type(ed.clientKey, "key-1")
	test.Type(ed.model, "laptop")
	test.Tap(ed.test)
	settle(w)
	if !strings.HasPrefix(ed.result.Text, "Test passed: the server granted a token valid for") || !strings.HasSuffix(ed.result.Text, "Nothing was saved.") {
		t.Errorf("identity test result: %q", ed.result.Text)
	}
	reqs := identity.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the identity server saw %d requests, want 1", len(reqs))
	}
	if info, err := auth.DecodeDeviceInfo(reqs[0].Body.DeviceInfo); err != nil || info.Model != "laptop" {
		t.Errorf("the test sent device info %+v (%v), want the model override", info, err)
	}
	cfg, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Profiles) != 0 || reqs[0].Body.DeviceID != cfg.DeviceID || cfg.DeviceID == "" {
		t.Errorf("after Test the config has %d profiles and device id %q (sent %q); want none, and the id kept", len(cfg.Profiles), cfg.DeviceID, reqs[0].Body.DeviceID)
	}
	if _, err := w.keychain().ClientSecret("work"); err == nil {
		t.Error("Test saved the secret")
	}

	ed.flow.SetSelected("Web grant")
	ed.baseURL.SetText(web.URL)
	test.Type(ed.clientID, "client-1")
	test.Type(ed.session, "wrong-session")
	test.Tap(ed.test)
	settle(w)
	if !strings.HasPrefix(ed.result.Text, "Test failed: ") || strings.Contains(ed.result.Text, "wrong-session") {
		t.Errorf("web test with a wrong session token: %q, want a failure that does not quote it", ed.result.Text)
	}
	ed.session.SetText("session-1")
	test.Tap(ed.test)
	settle(w)
	if !strings.HasPrefix(ed.result.Text, "Test passed") {
		t.Errorf("web test result: %q", ed.result.Text)
	}
	// Two acquires (one refused, one granted) and the grant revoked.
	if web.Acquires() != 2 || web.Revocations() != 1 || web.ValidAccessTokens() != 0 {
		t.Errorf("the web server saw %d acquires and %d revocations and has %d access tokens valid, want 2, 1 and none", web.Acquires(), web.Revocations(), web.ValidAccessTokens())
	}
	// Each token granted is told to the agent's access log; the refused
	// test was granted none.
	if calls, want := ag.Calls(), []string{"tested work", "tested work"}; !slices.Equal(calls, want) {
		t.Errorf("Test asked the agent %q, want %q", calls, want)
	}
	for _, s := range visibleTexts(t, w) {
		if strings.Contains(s, testSecret) {
			t.Fatalf("the window shows the secret: %q", s)
		}
	}
}

func TestEditorKeyboard(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent(), work)
	test.Tap(button(t, w, "Add profile"))
	ed := editorOf(t, w)
	// Tab goes down the form in the order it reads.
	c := w.Canvas()
	var entries []*formEntry
	for range 12 {
		if e, ok := c.Focused().(*formEntry); ok && !slices.Contains(entries, e) {
			entries = append(entries, e)
		}
		test.FocusNext(c)
	}
	want := []*formEntry{ed.name, ed.baseURL, ed.clientKey, ed.secret, ed.model, ed.version}
	if !slices.Equal(entries[:min(len(entries), len(want))], want) {
		t.Errorf("Tab visits the fields in the order %v, want name, base URL, client key, client secret, model, version", entryNames(ed, entries))
	}
	// Escape in a field leaves the editor for the list.
	ed.clientKey.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if _, isList := w.screen.(*profileList); !isList {
		t.Errorf("after Escape the window shows %T, want the list", w.screen)
	}
}

func entryNames(ed *editor, entries []*formEntry) []string {
	names := map[*formEntry]string{ed.name: "name", ed.baseURL: "base URL", ed.secret: "client secret", ed.clientKey: "client key",
		ed.model: "model", ed.version: "version", ed.clientID: "client ID", ed.session: "session token", ed.sub: "sub", ed.scope: "scope"}
	var out []string
	for _, e := range entries {
		out = append(out, names[e])
	}
	return out
}

// A stored secret, which the window never shows, goes only to the server
// and client it was saved for: whoever sits at the desk cannot send it
// elsewhere by changing the base URL or the client and leaving it blank.
func TestStoredSecretStaysWithItsServer(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, string(b))
		mu.Unlock()
		http.Error(rw, "no", http.StatusUnauthorized)
	}))
	defer other.Close()

	p := store.Profile{Name: "work", Flow: store.FlowIdentity, BaseURL: "https://api.example.com", ClientKey: "key-1"}
	w, _ := newTestWindow(t, newFakeAgent(), p)
	if err := w.keychain().SetClientSecret("work", "stored-secret-xyz"); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(ed *editor){
		func(ed *editor) { ed.baseURL.SetText(other.URL) },
		func(ed *editor) { ed.clientKey.SetText("key-2") },
	} {
		w.showEditor(editorEdit, p)
		ed := editorOf(t, w)
		change(ed)
		test.Tap(ed.test)
		settle(w)
		test.Tap(ed.save)
		settle(w)
		if !showsText(t, w, "the stored one goes only to https://api.example.com") {
			t.Errorf("a changed server or client does not ask for the secret again; the window shows %q", visibleTexts(t, w))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range seen {
		if strings.Contains(b, "stored-secret-xyz") {
			t.Errorf("the stored secret went to %s: %q", other.URL, b)
		}
	}
	if cfg, err := store.Load(w.configPath); err != nil || cfg.Profiles[0].BaseURL != p.BaseURL || cfg.Profiles[0].ClientKey != p.ClientKey {
		t.Errorf("the profile was saved without its secret: %+v, %v", cfg, err)
	}
}

// Enter in a field while a save runs starts no second save.
func TestEnterWhileSavingSavesOnce(t *testing.T) {
	ag := newFakeAgent()
	w, _ := newTestWindow(t, ag)
	ed := editorOf(t, w)
	test.Type(ed.name, "work")
	test.Type(ed.clientKey, "key-1")
	test.Type(ed.secret, testSecret)
	test.Tap(ed.save)
	ed.secret.OnSubmitted(ed.secret.Text) // Enter, as typed
	settle(w)
	if n := countCalls(ag.Calls(), "reload"); n != 1 {
		t.Errorf("one Save and one Enter while it ran made %d saves (%q)", n, ag.Calls())
	}
}

// TestEditorProxy sets a profile's proxy in the window with the rules of
// `tokentray proxy` (loopback or a unix socket, saved as the CLI saves
// it), clears it again, and leaves it out of a duplicate, which could not
// listen on the same address.
func TestEditorProxy(t *testing.T) {
	ag := newFakeAgent()
	w, path := newTestWindow(t, ag, home)
	if err := w.keychain().SetClientSecret("home", testSecret); err != nil {
		t.Fatal(err)
	}
	if err := w.keychain().SetSessionToken("home", "session-1"); err != nil {
		t.Fatal(err)
	}
	proxyOf := func() string {
		t.Helper()
		cfg, err := store.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := cfg.Profile("home")
		return p.Proxy
	}
	edit := func() *editor {
		t.Helper()
		w.showToken("home")
		settle(w)
		test.Tap(button(t, w, "Edit"))
		return editorOf(t, w)
	}

	ed := edit()
	if ed.proxy.Text != "" || !showsText(t, w, "Local proxy") {
		t.Fatalf("a profile without a proxy: field %q, shown %v", ed.proxy.Text, showsText(t, w, "Local proxy"))
	}
	test.Type(ed.proxy, "0.0.0.0:8787")
	test.Tap(ed.save)
	settle(w)
	if msg := visibleErrors(ed)[ed.proxy]; !strings.Contains(msg, "loopback only") {
		t.Errorf("error under 0.0.0.0:8787: %q, want the loopback rule", msg)
	}
	if got := proxyOf(); got != "" {
		t.Fatalf("a refused address was saved: %q", got)
	}
	ed.proxy.SetText("localhost:8787")
	test.Tap(ed.save)
	settle(w)
	if got := proxyOf(); got != "127.0.0.1:8787" {
		t.Fatalf("saved proxy %q, want 127.0.0.1:8787 as `tokentray proxy` saves localhost", got)
	}
	if calls := ag.Calls(); !slices.Contains(calls, "reload") {
		t.Errorf("agent calls %q: the agent was not told to serve the proxy", calls)
	}

	w.showToken("home")
	settle(w)
	test.Tap(button(t, w, "Duplicate"))
	if dup := editorOf(t, w); dup.proxy.Text != "" {
		t.Errorf("a duplicate starts with proxy %q, want none", dup.proxy.Text)
	}

	ed = edit()
	if ed.proxy.Text != "127.0.0.1:8787" {
		t.Errorf("editing shows proxy %q, want the saved one", ed.proxy.Text)
	}
	ed.proxy.SetText("")
	test.Tap(ed.save)
	settle(w)
	if errs := visibleErrors(ed); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := proxyOf(); got != "" {
		t.Errorf("after clearing the field the proxy is %q, want none", got)
	}
}

// With no agent running, the window records its Test in the access log
// itself, naming its own process.
func TestEditorTestRecordedWithoutAgent(t *testing.T) {
	identity := authtest.NewIdentityServer("key-1", testSecret)
	defer identity.Close()
	ag := newFakeAgent()
	ag.testedErr = localapi.ErrNotRunning
	w, path := newTestWindow(t, ag)
	ed := editorOf(t, w)
	test.Type(ed.name, "draft")
	ed.baseURL.SetText(identity.URL)
	test.Type(ed.secret, testSecret)
	test.Type(ed.clientKey, "key-1")
	test.Tap(ed.test)
	settle(w)
	if !strings.HasPrefix(ed.result.Text, "Test passed") || strings.Contains(ed.result.Text, "access log") {
		t.Errorf("result %q, want a pass recorded without complaint", ed.result.Text)
	}
	records, err := access.Read(access.Path(path), "")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	if len(records) != 1 || records[0].Channel != access.ChannelTest || records[0].Profile != "draft" || records[0].PID != os.Getpid() || records[0].Exe != self {
		t.Errorf("records %+v; want one test of draft by pid %d, %s", records, os.Getpid(), self)
	}
}
