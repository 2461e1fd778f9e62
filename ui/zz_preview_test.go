package ui

import (
	"image/png"
	"os"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
)

func savePreview(t *testing.T, w *Window, name string) {
	img := w.Canvas().Capture()
	f, _ := os.Create("/tmp/preview-" + name + ".png")
	png.Encode(f, img)
	f.Close()
}

func TestPreview(t *testing.T) {
	tok := jwtWith(`{"iss":"https://api.nfl.com","sub":"3cfdef35-c7fe-4f2d-8630-1ec72f52b44d","exp":1795431600,"iat":1795428000,"roles":["free","device"],"dmaCode":"501"}`)
	ag := newFakeAgent(
		auth.Event{Profile: "work", State: auth.StateValid, Expiry: testNow.Add(42 * time.Minute)},
		auth.Event{Profile: "home", State: auth.StateNeedsUser, Err: "client secret rejected"},
		auth.Event{Profile: "lab", State: auth.StateRetrying, Expiry: testNow.Add(12 * time.Minute), RetryAt: testNow.Add(30 * time.Second), Err: "server error 503"},
	)
	ag.token = agent.TokenResponse{Profile: "work", AccessToken: tok, Expiry: testNow.Add(42 * time.Minute), Scope: "openid profile"}
	w, _ := newTestWindow(t, ag, work, home, lab)
	test.ApplyTheme(t, theme.DefaultTheme())
	savePreview(t, w, "main")
	w.showToken("work")
	settle(w)
	savePreview(t, w, "token")
	w.showEditor(editorEdit, work)
	savePreview(t, w, "editor")
	w.showEditor(editorEdit, home)
	savePreview(t, w, "editor-web")
	w.showSettings()
	settle(w)
	savePreview(t, w, "settings")
	w.showToken("home")
	test.Tap(button(t, w, "Delete"))
	savePreview(t, w, "delete")
}
