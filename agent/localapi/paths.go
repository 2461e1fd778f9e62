package localapi

import (
	"fmt"
	"os"
	"path/filepath"
)

// RuntimeDir is where the agent's socket lives: $XDG_RUNTIME_DIR/tokentray,
// or the user cache dir when there is no runtime dir (macOS, some headless
// Linux sessions). It is created 0700 so only this user can reach the socket.
func RuntimeDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no runtime or cache directory for the agent socket: %w", err)
		}
		base = cache
	}
	dir := filepath.Join(base, "tokentray")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// MkdirAll keeps an existing directory's mode: tighten one left looser.
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// SocketPath is the LocalAPI socket of the agent.
func SocketPath() (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "agent.sock"), nil
}

// GUISocketPath is where a running GUI listens for "show yourself", so that
// opening Tokentray again focuses the window instead of starting another.
func GUISocketPath() (string, error) {
	dir, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "gui.sock"), nil
}

// Sibling returns the path of another Tokentray executable installed beside
// the running one: the GUI starts the agent this way and the agent the GUI.
func Sibling(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	return filepath.Join(filepath.Dir(self), name+exeSuffix), nil
}
