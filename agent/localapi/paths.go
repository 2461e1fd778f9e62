package localapi

import (
	"os"
	"path/filepath"

	"github.com/tokentray/tokentray/store/privdir"
)

// SocketPath is the LocalAPI socket of the agent, in privdir.Runtime: this
// user's alone (0700, no symlink), with the profile locks.
func SocketPath() (string, error) {
	dir, err := privdir.Runtime()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "agent.sock"), nil
}

// GUISocketPath is where a running GUI listens for "show yourself", so that
// opening Tokentray again focuses the window instead of starting another.
func GUISocketPath() (string, error) {
	dir, err := privdir.Runtime()
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
