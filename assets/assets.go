// Package assets holds the files both executables embed: the GUI uses the
// icon for its window, the agent the tray icons.
package assets

import _ "embed"

//go:generate go run ./icongen

// Icon is Tokentray's 256x256 PNG icon: a token resting in a tray.
//
//go:embed icon.png
var Icon []byte

// The tray icons, 64x64 PNGs drawn by icongen, one per overall state: a
// coloured disc with a dark outline and a glyph, readable on light and dark
// panels from 16 px up.
var (
	// TrayValid (green, a tick): every token is valid or being renewed.
	//
	//go:embed tray-valid.png
	TrayValid []byte
	// TrayRetrying (amber, a circular arrow): a refresh failed and is
	// retried by itself.
	//
	//go:embed tray-retrying.png
	TrayRetrying []byte
	// TrayNeedsYou (red, an exclamation mark): a profile's credentials were
	// refused.
	//
	//go:embed tray-needs-you.png
	TrayNeedsYou []byte
)
