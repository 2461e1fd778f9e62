package localapi

import (
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/testkit"
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
	testkit.Receive(t, shown, 5*time.Second, "FocusGUI did not show the window")
	testkit.NoReceive(t, shown, 2*guiReadWait, "the window was shown twice: once for GUIOpen")
	ln.Close()
	if GUIOpen() {
		t.Error("GUIOpen after the GUI stopped listening = true")
	}
}
