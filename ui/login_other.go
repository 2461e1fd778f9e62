//go:build !linux && !darwin && !windows

package ui

func loginHint() string {
	return "Starting at login is not supported on this system."
}
