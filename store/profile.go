package store

import "errors"

// Secrets are what a profile keeps in the keychain: the client secret, and
// for the web grant flow the session token.
type Secrets struct {
	ClientSecret string
	SessionToken string // web grant flow only
}

// AddProfile saves p with its secrets, replacing any profile of that name,
// as the CLI and the window both do. The old token record goes: it was
// granted for the old credentials. The device id is made here if there is
// none yet, so the first request already carries the one kept for good.
func AddProfile(configPath string, k Keychain, p Profile, secrets Secrets) error {
	cfg, err := Load(configPath)
	if err != nil {
		return err
	}
	// The secret goes first: a profile in the config without its secret
	// could not get a token.
	if err := k.SetClientSecret(p.Name, secrets.ClientSecret); err != nil {
		return err
	}
	if secrets.SessionToken != "" {
		if err := k.SetSessionToken(p.Name, secrets.SessionToken); err != nil {
			return err
		}
	}
	if err := k.delete(p.Name + tokenSuffix); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	cfg.EnsureDeviceID()
	cfg.Put(p)
	return cfg.Save(configPath)
}
