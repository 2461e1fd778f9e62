//go:build !linux && !darwin && !windows

package desktop

import (
	"errors"
	"fmt"
)

// AutostartEnabled reports whether the agent starts at login: never here.
func AutostartEnabled() (bool, error) { return false, nil }

// SetAutostart is not supported on this system.
func SetAutostart(on bool) error {
	if !on {
		return nil
	}
	return fmt.Errorf("starting at login on this system: %w", errors.ErrUnsupported)
}
