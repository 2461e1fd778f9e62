package desktop

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
)

// autostartPath is the LaunchAgent that launchd loads at login.
func autostartPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", AppID+".plist"), nil
}

// autostartKind is what the person knows the autostart file as.
const autostartKind = "the LaunchAgent"

// autostartContent is what autostartPath holds to run exe with args at login.
func autostartContent(exe string, args []string) []byte {
	return launchAgent(exe, args)
}

// autostartActive says whether a LaunchAgent runs at login. Tokentray's
// has no Disabled key, and launchctl keeps its own overrides elsewhere.
func autostartActive([]byte) bool { return true }

// launchAgent is the property list that has launchd run exe with args once
// at login; the agent is not kept alive, so Quit in the tray is final.
func launchAgent(exe string, args []string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n\t<key>Label</key>\n\t<string>")
	xml.EscapeText(&b, []byte(AppID))
	b.WriteString("</string>\n\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range append([]string{exe}, args...) {
		b.WriteString("\t\t<string>")
		xml.EscapeText(&b, []byte(a))
		b.WriteString("</string>\n")
	}
	b.WriteString("\t</array>\n\t<key>RunAtLoad</key>\n\t<true/>\n</dict>\n</plist>\n")
	return b.Bytes()
}
