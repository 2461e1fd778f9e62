package clipboard

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/testkit"
)

// fakeWlClipboard puts stand-ins for wl-copy and wl-paste first on PATH,
// keeping the clipboard in a file, and makes the session look like Wayland
// without X. Like wl-copy --foreground, the stand-in serves its copy until
// another takes the clipboard, then exits; killed while it still serves,
// the clipboard empties, as a compositor drops the selection of a client
// that is gone. It returns the clipboard file, the file of wl-copy's
// command lines and the file of its process ids.
func fakeWlClipboard(t *testing.T) (clip, argv, pids string) {
	dir := t.TempDir()
	clip, argv, pids = filepath.Join(dir, "clipboard"), filepath.Join(dir, "argv"), filepath.Join(dir, "pids")
	scripts := map[string]string{
		"wl-copy": `#!/bin/sh
case "$1" in
--help) echo "  -s, --sensitive   mark the copy as a secret"; exit 0 ;;
esac
[ -n "$FAKE_WL_COPY_FAILS" ] && { echo "Failed to connect to a Wayland server" >&2; exit 1; }
echo "$@" >>"` + argv + `"
echo $$ >>"` + pids + `"
mine="` + clip + `.$$"
cat >"$mine"
cp "$mine" "` + clip + `"
trap 'cmp -s "$mine" "` + clip + `" && rm -f "` + clip + `"; rm -f "$mine"; exit 0' TERM
while cmp -s "$mine" "` + clip + `"; do sleep 0.02; done
rm -f "$mine"
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
	return clip, argv, pids
}

func TestWaylandClipboard(t *testing.T) {
	clip, argv, pids := fakeWlClipboard(t)
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
		if !testkit.Poll(testkit.Patience, func() bool { return read() == "" }) {
			t.Fatalf("the clipboard still holds %q", read())
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
	if strings.Contains(string(args), "token-one") || !strings.Contains(string(args), "--foreground --type text/plain --sensitive") {
		t.Errorf("wl-copy ran with %q: want --foreground --type text/plain --sensitive and never the value", args)
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
	testkit.Eventually(t, "the clear to run", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.clearAt == nil
	})
	if got := read(); got != "theirs" {
		t.Errorf("the clipboard holds %q, want what was copied after the token", got)
	}

	// A newer copy replaces an older one, and quitting clears a copy still
	// there, with clearing off.
	if err := c.Write("token-three", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("token-four", 0); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "token-four" {
		t.Errorf("the clipboard holds %q, want token-four", got)
	}
	c.Close()
	waitEmpty()

	// No wl-copy outlives the agent's clipboard.
	ids, _ := os.ReadFile(pids)
	for _, id := range strings.Fields(string(ids)) {
		pid, _ := strconv.Atoi(id)
		if !testkit.Poll(testkit.Patience, func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }) {
			t.Errorf("wl-copy %d still runs after the clipboard closed", pid)
		}
	}
}

// TestWaylandClipboardFailingCopy: a wl-copy that cannot copy fails the
// copy, saying why.
func TestWaylandClipboardFailingCopy(t *testing.T) {
	fakeWlClipboard(t)
	t.Setenv("FAKE_WL_COPY_FAILS", "1")
	c := &Clipboard{}
	defer c.Close()
	if err := c.Write("token", 0); err == nil || !strings.Contains(err.Error(), "Failed to connect to a Wayland server") {
		t.Errorf("copying with a failing wl-copy: %v, want its message", err)
	}
}
