package ui

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
)

// update rewrites the markup goldens in testdata instead of comparing with
// them, after a deliberate change: go test ./ui -run Render -update.
var update = flag.Bool("update", false, "rewrite the markup goldens in testdata")

// assertMarkup compares c with the golden testdata/name, or with -update
// rewrites it.
func assertMarkup(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(test.RenderToMarkup(c)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	test.AssertRendersToMarkup(t, name, c)
}

// TestScreensRender pins the editor on both flows and the token view to
// markup goldens in testdata (the profile list's is in TestProfileListLive).
func TestScreensRender(t *testing.T) {
	expiry := testNow.Add(41*time.Minute + 59*time.Second)
	ag := newFakeAgent(
		auth.Event{Profile: "work", State: auth.StateValid, Expiry: expiry},
		auth.Event{Profile: "home", State: auth.StateNeedsUser, Err: "client secret rejected"},
	)
	ag.token = localapi.TokenResponse{Profile: "work", Expiry: expiry, Scope: "openid profile",
		AccessToken: jwtWith(`{"iss":"https://api.nfl.com","sub":"3cfdef35-c7fe-4f2d-8630-1ec72f52b44d","exp":1795430519,"iat":1795426919,"roles":["free","device"],"dmaCode":"501"}`)}
	w, _ := newTestWindow(t, ag, work, home)

	w.showEditor(editorEdit, work)
	assertMarkup(t, "editor_identity.xml", w.Canvas())
	w.showEditor(editorEdit, home)
	assertMarkup(t, "editor_web.xml", w.Canvas())
	w.showToken("work")
	settle(w)
	assertMarkup(t, "token.xml", w.Canvas())
	w.showSettings()
	settle(w)
	// The golden is Linux's: elsewhere Start at login says what it writes
	// there (the Run key on Windows), in a hint of other lines.
	if runtime.GOOS == "linux" {
		assertMarkup(t, "settings.xml", w.Canvas())
	} else if hint := strings.Join(strings.Fields(loginHint())[:5], " "); !strings.Contains(test.RenderToMarkup(w.Canvas()), hint) {
		t.Errorf("the settings do not say %q", hint)
	}
}
