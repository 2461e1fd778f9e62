//go:build linux || darwin

package desktop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// On Linux and macOS, starting at login is a file that the desktop (XDG
// autostart) or launchd reads: present, and not switched off inside, means
// on.

// AutostartEnabled reports whether the agent starts at login.
func AutostartEnabled() (bool, error) {
	path, err := autostartPath()
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return autostartActive(data), nil
}

// SetAutostart makes the agent start at login, or not.
func SetAutostart(on bool) error {
	path, err := autostartPath()
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", autostartKind, err)
		}
		return nil
	}
	exe, args, err := autostartCommand()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", autostartKind, err)
	}
	if err := os.WriteFile(path, autostartContent(exe, args), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", autostartKind, err)
	}
	return nil
}
