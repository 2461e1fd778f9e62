package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeWlClipboard puts stand-ins for wl-copy and wl-paste first on PATH,
// keeping the clipboard in a file, and makes the session look like Wayland
// without X. It returns the clipboard file and the file of wl-copy's
// command lines.
func fakeWlClipboard(t *testing.T) (clip, argv string) {
	dir := t.TempDir()
	clip, argv = filepath.Join(dir, "clipboard"), filepath.Join(dir, "argv")
	scripts := map[string]string{
		"wl-copy": `#!/bin/sh
case "$1" in
--help) echo "  -s, --sensitive   mark the copy as a secret"; exit 0 ;;
--clear) rm -f "` + clip + `"; exit 0 ;;
esac
echo "$@" >>"` + argv + `"
cat >"` + clip + `"
`,
		"wl-paste": `#!/bin/sh
[ -f "` + clip + `" ] || { echo "Nothing is copied" >&2; exit 1; }
cat "` + clip + `"
`,
	}
	for name, script := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "wayland-test")
	return clip, argv
}

func TestWaylandClipboard(t *testing.T) {
	clip, argv := fakeWlClipboard(t)
	read := func() string {
		data, err := os.ReadFile(clip)
		if os.IsNotExist(err) {
			return ""
		} else if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	waitEmpty := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); read() != ""; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the clipboard still holds %q", read())
			}
		}
	}
	c := &Clipboard{}
	defer c.Close()

	if err := c.Write("token-one", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "token-one" {
		t.Fatalf("wl-copy got %q on its standard input", got)
	}
	args, _ := os.ReadFile(argv)
	if strings.Contains(string(args), "token-one") || !strings.Contains(string(args), "--type text/plain --sensitive") {
		t.Errorf("wl-copy ran with %q: want --type text/plain --sensitive and never the value", args)
	}
	waitEmpty()

	// Someone else's copy stays.
	if err := c.Write("token-two", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clip, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Wait for the clear to have run: it drops its timer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c.mu.Lock()
		pending := c.clearAt != nil
		c.mu.Unlock()
		if !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the clear did not run")
		}
	}
	if got := read(); got != "theirs" {
		t.Errorf("the clipboard holds %q, want what was copied after the token", got)
	}

	// Quitting clears a copy still there, with clearing off.
	if err := c.Write("token-three", 0); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitEmpty()
}
