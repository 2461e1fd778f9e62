package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/store"
)

func TestDecodeClaims(t *testing.T) {
	claims, err := decodeClaims(jwtWith(`{"roles":["free","device"],"exp":1795431600,"iss":"https://api.nfl.com","aud":"web","dmaCode":"501","nested":{"b":1, "a":2}}`), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := []claim{
		{"iss", "https://api.nfl.com"},
		{"aud", "web"},
		{"exp", "1795431600 (Mon 23 Nov 2026 11:00:00 UTC)"},
		{"dmaCode", "501"},
		{"nested", `{"b":1,"a":2}`},
		{"roles", `["free","device"]`},
	}
	if !slices.Equal(claims, want) {
		t.Errorf("claims = %q\nwant     %q", claims, want)
	}
	for _, opaque := range []string{"640b00c7-33d8-44f2-ab46-e3d1284a4061", "a.!!!.c", "a." + "bm90IGpzb24" + ".c"} {
		if _, err := decodeClaims(opaque, time.UTC); !errors.Is(err, errNotJWT) {
			t.Errorf("decodeClaims(%q) = %v, want errNotJWT", opaque, err)
		}
	}
}

// TestTokenView reads a real fake server's JWT through the fake agent: the
// claims show, marked as not verified, and the token itself never does.
func TestTokenView(t *testing.T) {
	server := authtest.NewIdentityServer("key-1", testSecret)
	defer server.Close()
	flow := &auth.IdentityFlow{BaseURL: server.URL, ClientKey: "key-1", ClientSecret: testSecret,
		Device: auth.Device{ID: "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d", Info: auth.DetectDeviceInfo(), Network: "wifi"}}
	tok, err := flow.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ag := newFakeAgent(auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(41*time.Minute + 59*time.Second)})
	ag.token = localapi.TokenResponse{Profile: "work", AccessToken: tok.AccessToken, Expiry: testNow.Add(41*time.Minute + 59*time.Second), Scope: "openid profile"}
	w, _ := newTestWindow(t, ag, work)
	test.Tap(button(t, w, "Copy token")) // the list's: it must not open the view
	settle(w)
	w.showToken("work")
	settle(w)
	for _, want := range []string{"work", "Valid · expires in 41 min", "41:59 · at 10:41", "openid profile",
		"not verified", "tokentray-authtest", "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d", "clientId", "key-1"} {
		if !showsText(t, w, want) {
			t.Errorf("the token view does not show %q: %q", want, visibleTexts(t, w))
		}
	}
	for _, s := range visibleTexts(t, w) {
		if strings.Contains(s, tok.AccessToken[:40]) || strings.Contains(s, tok.RefreshToken) {
			t.Fatalf("the window shows the token: %.60q", s)
		}
	}

	test.Tap(button(t, w, "Copy Authorization header"))
	settle(w)
	if !showsText(t, w, "Authorization header copied · valid until 10:41") {
		t.Errorf("copying the header says %q", visibleTexts(t, w))
	}
	test.Tap(button(t, w, "Refresh now"))
	settle(w)
	calls := ag.Calls()
	for _, want := range []string{"copy work", "token work", "copy header work", "refresh work"} {
		if !slices.Contains(calls, want) {
			t.Errorf("agent calls %q lack %q", calls, want)
		}
	}
	if !showsText(t, w, "Refreshing…") {
		t.Errorf("Refresh now says %q", visibleTexts(t, w))
	}
	// A renewed token: the countdown follows the event, and the claims are
	// read again.
	ag.emit(auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(time.Hour)})
	settle(w)
	settle(w)
	if !showsText(t, w, "1:00:00") {
		t.Errorf("after a refresh the view shows %q", visibleTexts(t, w))
	}
	if n := countCalls(ag.Calls(), "token work"); n != 2 {
		t.Errorf("the token was read %d times, want again after the refresh", n)
	}

	// Escape goes back to the list.
	w.Canvas().(interface{ OnTypedKey() func(*fyne.KeyEvent) }).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if _, isList := w.screen.(*profileList); !isList {
		t.Errorf("after Escape the window shows %T, want the list", w.screen)
	}
}

func countCalls(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}

func TestTokenViewWithoutToken(t *testing.T) {
	ag := newFakeAgent(auth.Event{Profile: "home", State: auth.StateNeedsUser, Err: "client secret rejected"})
	ag.tokenErr = &localapi.APIError{Status: 403, Message: "profile home: client secret rejected"}
	w, _ := newTestWindow(t, ag, home)
	w.showToken("home")
	settle(w)
	for _, want := range []string{"Needs you: client secret rejected", "No token to read: profile home: client secret rejected"} {
		if !showsText(t, w, want) {
			t.Errorf("the token view does not show %q: %q", want, visibleTexts(t, w))
		}
	}
}

// TestDeleteAsksThenRemoves cancels a delete, then confirms one: the
// profile, its keychain entries and its grant at the server go.
func TestDeleteAsksThenRemoves(t *testing.T) {
	server := authtest.NewWebServer("c2", testSecret, "session-1")
	defer server.Close()
	p := home
	p.BaseURL = server.URL
	ag := newFakeAgent()
	w, path := newTestWindow(t, ag, p, work)
	k := w.keychain()
	flow := &auth.WebGrantFlow{BaseURL: server.URL, ClientID: "c2", ClientSecret: testSecret, SessionToken: "session-1"}
	tok, err := flow.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddProfile(path, k, p, store.Secrets{ClientSecret: testSecret, SessionToken: "session-1"}); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("home", tok); err != nil {
		t.Fatal(err)
	}

	w.showToken("home")
	settle(w)
	test.Tap(button(t, w, "Delete"))
	if w.dialog == nil || !showsDialogText(t, w, "revoked at the server") {
		t.Fatal("Delete did not ask first")
	}
	// Escape is Cancel.
	w.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	settle(w)
	if w.dialog != nil {
		t.Fatal("Escape left the dialog open")
	}
	if cfg, _ := store.Load(path); len(cfg.Profiles) != 2 {
		t.Fatal("cancelling deleted the profile")
	}
	tokenViewOf(t, w)

	test.Tap(button(t, w, "Delete"))
	deletes := buttons(t, w, "Delete")
	if len(deletes) != 2 {
		t.Fatalf("%d Delete buttons, want the view's and the dialog's", len(deletes))
	}
	test.Tap(deletes[1]) // the dialog's, in the overlay
	settle(w)
	cfg, _ := store.Load(path)
	if _, ok := cfg.Profile("home"); ok || len(cfg.Profiles) != 1 {
		t.Errorf("after Delete the config has %+v", cfg.Profiles)
	}
	if _, err := k.ClientSecret("home"); err == nil {
		t.Error("the client secret is still in the keychain")
	}
	if _, err := k.SessionToken("home"); err == nil {
		t.Error("the session token is still in the keychain")
	}
	if _, found, _ := k.LoadToken("home"); found {
		t.Error("the token record is still in the keychain")
	}
	if server.Revocations() != 1 || server.ValidAccessTokens() != 0 {
		t.Errorf("the server saw %d revocations and has %d access tokens valid, want 1 and none", server.Revocations(), server.ValidAccessTokens())
	}
	if !slices.Contains(ag.Calls(), "reload") {
		t.Errorf("the agent was not told: %q", ag.Calls())
	}
	if _, isList := w.screen.(*profileList); !isList || !showsText(t, w, "Deleted home and its keychain entries.") {
		t.Errorf("after Delete the window shows %q", visibleTexts(t, w))
	}
}

func showsDialogText(t *testing.T, w fyne.Window, want string) bool {
	found := false
	for _, o := range w.Canvas().Overlays().List() {
		walk(t, o, func(o fyne.CanvasObject) {
			for _, s := range visibleTextsOf(o) {
				found = found || strings.Contains(s, want)
			}
		})
	}
	return found
}

func TestShortcuts(t *testing.T) {
	w, _ := newTestWindow(t, newFakeAgent(), work)
	press := func(key fyne.KeyName) {
		w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault})
		settle(w)
	}
	press(fyne.KeyN)
	if ed := editorOf(t, w); ed.mode != editorAdd {
		t.Errorf("Ctrl+N opened the editor in mode %d, want a new profile", ed.mode)
	}
	w.showToken("work")
	settle(w)
	press(fyne.KeyE)
	if ed := editorOf(t, w); ed.mode != editorEdit || ed.original.Name != "work" {
		t.Errorf("Ctrl+E in work's token view: mode %d, profile %q; want work's editor", ed.mode, ed.original.Name)
	}
	press(fyne.KeyComma)
	if _, ok := w.screen.(*settings); !ok {
		t.Errorf("Ctrl+, shows %T, want the settings", w.screen)
	}
}
