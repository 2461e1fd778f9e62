package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
)

// TestScreensRender pins the editor on both flows and the token view to
// markup goldens in testdata (the profile list's is in TestProfileListLive).
// After a deliberate change, copy testdata/failed/*.xml over them.
func TestScreensRender(t *testing.T) {
	expiry := testNow.Add(41*time.Minute + 59*time.Second)
	ag := newFakeAgent(
		auth.Event{Profile: "work", State: auth.StateValid, Expiry: expiry},
		auth.Event{Profile: "home", State: auth.StateNeedsUser, Err: "client secret rejected"},
	)
	ag.token = agent.TokenResponse{Profile: "work", Expiry: expiry, Scope: "openid profile",
		AccessToken: jwtWith(`{"iss":"https://api.nfl.com","sub":"3cfdef35-c7fe-4f2d-8630-1ec72f52b44d","exp":1795430519,"iat":1795426919,"roles":["free","device"],"dmaCode":"501"}`)}
	w, _ := newTestWindow(t, ag, work, home)

	w.showEditor(editorEdit, work)
	test.AssertRendersToMarkup(t, "editor_identity.xml", w.Canvas())
	w.showEditor(editorEdit, home)
	test.AssertRendersToMarkup(t, "editor_web.xml", w.Canvas())
	w.showToken("work")
	settle(w)
	test.AssertRendersToMarkup(t, "token.xml", w.Canvas())
	w.showSettings()
	settle(w)
	test.AssertRendersToMarkup(t, "settings.xml", w.Canvas())
}
