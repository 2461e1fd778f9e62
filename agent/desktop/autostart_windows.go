package desktop

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// runKey is where Windows lists what to start at this user's login.
const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// runValue names Tokentray's entry under runKey.
const runValue = "Tokentray"

// AutostartEnabled reports whether the agent starts at login.
func AutostartEnabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if err != nil {
		return false, fmt.Errorf("reading the Run key: %w", err)
	}
	defer k.Close()
	_, _, err = k.GetStringValue(runValue)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SetAutostart makes the agent start at login, or not.
func SetAutostart(on bool) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("opening the Run key: %w", err)
	}
	defer k.Close()
	if !on {
		if err := k.DeleteValue(runValue); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return fmt.Errorf("removing the Run entry: %w", err)
		}
		return nil
	}
	exe, args, err := autostartCommand()
	if err != nil {
		return err
	}
	// The Run value is a command line: the path quoted, as it may hold spaces.
	line := `"` + exe + `" ` + strings.Join(args, " ")
	if err := k.SetStringValue(runValue, line); err != nil {
		return fmt.Errorf("writing the Run entry: %w", err)
	}
	return nil
}
