package auth

import "golang.org/x/sys/unix"

func detectOS() (name, version string) {
	// kern.osproductversion is the marketing version ("14.5") and exists on
	// every macOS that Go still supports; without it the version stays empty
	// rather than guessed from the Darwin kernel number.
	v, err := unix.Sysctl("kern.osproductversion")
	if err != nil {
		return "Mac OS", ""
	}
	return "Mac OS", v
}
