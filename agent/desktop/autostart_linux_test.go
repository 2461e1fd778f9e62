package desktop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/agent/localapi"
)

// TestAutostartLinux turns start-at-login on and off against a private
// XDG_CONFIG_HOME and reads the entry a desktop would run.
func TestAutostartLinux(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config dir")
	t.Setenv("XDG_CONFIG_HOME", config)
	entry := filepath.Join(config, "autostart", "io.github.tokentray.desktop")

	if on, err := AutostartEnabled(); err != nil || on {
		t.Fatalf("before: enabled %v, %v; want false", on, err)
	}
	if err := SetAutostart(true); err != nil {
		t.Fatal(err)
	}
	if on, err := AutostartEnabled(); err != nil || !on {
		t.Errorf("after SetAutostart(true): enabled %v, %v; want true", on, err)
	}
	data, err := os.ReadFile(entry)
	if err != nil {
		t.Fatalf("no entry at %s: %v", entry, err)
	}
	exe, err := localapi.Sibling("tokentray")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", "Name=Tokentray\n", "Exec=" + desktopQuote(exe) + " agent\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the entry lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(text, "[Desktop Entry]\n") {
		t.Errorf("the entry does not start with its group header:\n%s", text)
	}

	// GNOME's and KDE's startup settings switch an entry off in place; it
	// then reads as off, and turning it on rewrites it.
	for _, off := range []string{"X-GNOME-Autostart-enabled=false", "Hidden=true"} {
		if err := os.WriteFile(entry, []byte(strings.Replace(text, "X-GNOME-Autostart-enabled=true", off, 1)+off+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if on, err := AutostartEnabled(); err != nil || on {
			t.Errorf("an entry with %s reads as enabled %v, %v; want false", off, on, err)
		}
		if err := SetAutostart(true); err != nil {
			t.Errorf("SetAutostart(true) over an entry switched off: %v", err)
		}
		if on, err := AutostartEnabled(); err != nil || !on {
			t.Errorf("SetAutostart(true) over an entry with %s: enabled %v, %v; want true", off, on, err)
		}
	}
	if err := SetAutostart(false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("the entry is still there after SetAutostart(false): %v", err)
	}
	if on, err := AutostartEnabled(); err != nil || on {
		t.Errorf("after SetAutostart(false): enabled %v, %v; want false", on, err)
	}
	if err := SetAutostart(false); err != nil {
		t.Errorf("SetAutostart(false) with no entry: %v", err)
	}
}

func TestDesktopQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/tokentray": "/usr/local/bin/tokentray",
		"/home/a b/tokentray":      `"/home/a b/tokentray"`,
		`/opt/$x"y\z`:              `"/opt/\\$x\\"y\\\\z"`,
		"/opt/100%/tokentray":      `"/opt/100%%/tokentray"`,
		"":                         `""`,
	} {
		if got := desktopQuote(in); got != want {
			t.Errorf("desktopQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
