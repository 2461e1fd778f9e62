package store

import "errors"

// Secrets are what a profile keeps in the keychain: the client secret, for
// the web grant flow the session token, and for a signed-in identity
// profile the uid signature.
type Secrets struct {
	ClientSecret string
	SessionToken string // web grant flow only
	UIDSignature string // identity flow, signed-in accounts only
}

// AddProfile saves p with its secrets, replacing any profile of that name,
// as the CLI and the window both do. The device id is made here if there is
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
	// The optional secrets are set or, when the new profile has none, deleted:
	// a secret the profile no longer uses must not linger in the keychain.
	// So goes the old token record, granted for the old credentials.
	for _, entry := range []struct{ suffix, value string }{
		{sessionTokenSuffix, secrets.SessionToken},
		{uidSignatureSuffix, secrets.UIDSignature},
		{tokenSuffix, ""},
	} {
		if entry.value != "" {
			err = k.set(p.Name+entry.suffix, entry.value)
		} else if err = k.delete(p.Name + entry.suffix); errors.Is(err, ErrNotFound) {
			err = nil
		}
		if err != nil {
			return err
		}
	}
	cfg.EnsureDeviceID()
	cfg.Put(p)
	return cfg.Save(configPath)
}
