package localapi

import (
	"testing"
	"time"
)

// GUIOpen finds a running GUI without showing its window; FocusGUI shows
// it.
func TestGUIOpen(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if GUIOpen() {
		t.Fatal("GUIOpen with no GUI = true")
	}
	shown := make(chan struct{}, 4)
	ln, err := ListenGUI(func() { shown <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if !GUIOpen() {
		t.Error("GUIOpen with a GUI listening = false")
	}
	if err := FocusGUI(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-shown:
	case <-time.After(5 * time.Second):
		t.Fatal("FocusGUI did not show the window")
	}
	select {
	case <-shown:
		t.Error("the window was shown twice: once for GUIOpen")
	case <-time.After(2 * guiReadWait):
	}
	ln.Close()
	if GUIOpen() {
		t.Error("GUIOpen after the GUI stopped listening = true")
	}
}
