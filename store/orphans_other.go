//go:build !linux

package store

// listKeychain would list the entries of service: neither Keychain Services
// as go-keyring reaches it (the security CLI) nor Credential Manager is
// wired up for that yet.
func listKeychain(service string) ([]Entry, error) { return nil, ErrListUnsupported }

func deleteKeychainItem(item string) error { return ErrListUnsupported }
