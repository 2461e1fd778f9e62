// Package assets holds the files both executables embed: the GUI uses the
// icon for its window and the agent for its tray.
package assets

import _ "embed"

// Icon is Tokentray's 256x256 PNG icon: a token resting in a tray.
//
//go:embed icon.png
var Icon []byte
