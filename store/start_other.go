//go:build !linux

package store

// cannotStart is nil: only the Secret Service is started on demand, by
// the session bus.
func cannotStart(error) error { return nil }
