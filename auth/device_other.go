//go:build !linux && !darwin && !windows

package auth

import "runtime"

func detectOS() (name, version string) {
	// The identity API knows only Windows, Mac OS and Linux; naming the real
	// system is more honest than posing as one of them, and the version has
	// no portable source here.
	return runtime.GOOS, ""
}
