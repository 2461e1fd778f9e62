package auth

import "golang.org/x/sys/windows"

func detectOS() (name, version string) {
	// RtlGetVersion, unlike GetVersionEx, is not lied to by the application
	// manifest. Windows 11 still reports major version 10; only its build
	// number (22000 and up) tells it apart.
	if windows.RtlGetVersion().BuildNumber >= 22000 {
		return "Windows", "11"
	}
	return "Windows", "10"
}
