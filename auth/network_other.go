//go:build !linux && !darwin && !windows

package auth

// DetectNetworkType reports NetworkOther: this system offers no portable way
// to learn the link type. A profile can pin the type instead.
func DetectNetworkType() NetworkType {
	return NetworkOther
}
