package clipboard

import (
	"errors"
	"os"
)

// openSystemClipboard connects to the X display, also under XWayland, or
// on a Wayland session without X falls back to wl-copy.
func openSystemClipboard() (systemClipboard, error) {
	if os.Getenv("DISPLAY") != "" {
		return openX11Clipboard()
	}
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		return openWaylandClipboard()
	}
	return nil, errors.New("neither DISPLAY nor WAYLAND_DISPLAY is set: the agent runs outside a desktop session")
}
