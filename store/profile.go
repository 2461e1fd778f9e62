package store

import "errors"

// AddProfile saves p with its client secret, replacing any profile of that
// name, as the CLI and the window both do. The old token record goes: it was
// granted for the old credentials. The device id is made here if there is
// none yet, so the first request already carries the one kept for good.
func AddProfile(configPath string, k Keychain, p Profile, clientSecret string) error {
	cfg, err := Load(configPath)
	if err != nil {
		return err
	}
	// The secret goes first: a profile in the config without its secret
	// could not get a token.
	if err := k.SetClientSecret(p.Name, clientSecret); err != nil {
		return err
	}
	if err := k.delete(p.Name + tokenSuffix); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	cfg.EnsureDeviceID()
	cfg.Put(p)
	return cfg.Save(configPath)
}
