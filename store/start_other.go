//go:build !linux

package store

import "context"

// startKeychain does nothing: only the Secret Service is started on demand.
func startKeychain(context.Context) error { return nil }

// cannotStart is nil: see startKeychain.
func cannotStart(error) error { return nil }
