package desktop

import (
	"os"
	"path/filepath"
	"strings"
)

// autostartPath is the XDG autostart entry, which desktops run at login:
// $XDG_CONFIG_HOME/autostart, ~/.config/autostart by default.
func autostartPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "autostart", AppID+".desktop"), nil
}

// autostartKind is what the person knows the autostart file as.
const autostartKind = "the login entry"

// autostartContent is what autostartPath holds to run exe with args at login.
func autostartContent(exe string, args []string) []byte {
	return []byte(desktopEntry(exe, args))
}

// autostartActive says whether an autostart entry runs at login: GNOME's
// and KDE's startup settings switch one off in place rather than delete it.
func autostartActive(entry []byte) bool {
	for _, line := range strings.Split(string(entry), "\n") {
		switch strings.TrimSpace(line) {
		case "Hidden=true", "X-GNOME-Autostart-enabled=false":
			return false
		}
	}
	return true
}

// desktopEntry is the autostart entry running exe with args.
func desktopEntry(exe string, args []string) string {
	words := []string{desktopQuote(exe)}
	for _, a := range args {
		words = append(words, desktopQuote(a))
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=Tokentray\n" +
		"Comment=Keeps your API tokens fresh from the tray\n" +
		"Exec=" + strings.Join(words, " ") + "\n" +
		"Icon=" + AppID + "\n" +
		"Terminal=false\n" +
		"NoDisplay=true\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// desktopQuote quotes an Exec argument as the Desktop Entry Specification
// asks: in double quotes, with ", `, $ and \ escaped by a backslash, and
// every backslash doubled once more because Exec is itself a string value.
func desktopQuote(arg string) string {
	if arg != "" && !strings.ContainsAny(arg, " \t\n\"'\\><~|&;$*?#()`%=") {
		return arg
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\` + string(r))
		case '\\':
			b.WriteString(`\\\\`)
		case '%':
			b.WriteString("%%")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
