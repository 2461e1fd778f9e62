package store

import (
	"context"
	"errors"
	"time"
)

// Secrets are what a profile keeps in the keychain: the client secret, for
// the web grant flow the session token, and for a signed-in identity
// profile the uid signature.
type Secrets struct {
	ClientSecret string
	SessionToken string // web grant flow only
	UIDSignature string // identity flow, signed-in accounts only
}

// profileLockWait bounds AddProfile's wait for the profile's lock: longer
// than a refresh in flight holds it (auth's two-minute refresh timeout).
const profileLockWait = 3 * time.Minute

// AddProfile saves p with its secrets, replacing any profile of that name
// but keeping its proxy when p has none: the proxy is `tokentray proxy`'s
// to set, `tokentray add` has no flag for it, and editing the client must
// not drop it. The device id is made here if there is none yet, so the
// first request already carries the one kept for good.
//
// It holds the config lock throughout, so that a move of the secrets waits
// (k, opened before, is refused if one came first) and no change saved
// meanwhile is lost; and, inside it, the profile's lock while writing the
// secrets, so that a refresh in flight finishes first.
func AddProfile(configPath string, k Keychain, p Profile, secrets Secrets) error {
	return saveProfile(configPath, k, p, secrets, true)
}

// SaveProfile is AddProfile saving p's proxy as it is, "" removing it: for
// the window's editor, which shows the field.
func SaveProfile(configPath string, k Keychain, p Profile, secrets Secrets) error {
	return saveProfile(configPath, k, p, secrets, false)
}

func saveProfile(configPath string, k Keychain, p Profile, secrets Secrets, keepProxy bool) error {
	cfg, unlock, err := loadLocked(configPath)
	if err != nil {
		return err
	}
	defer unlock()
	if err := k.CheckBackend(configPath, cfg.Settings); err != nil {
		return err
	}
	if old, ok := cfg.Profile(p.Name); ok && keepProxy && p.Proxy == "" {
		p.Proxy = old.Proxy
	}
	// Before any secret is written: a clash must leave everything as it was.
	if err := cfg.CheckProxyFree(p.Name, p.Proxy); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), profileLockWait)
	defer cancel()
	unlockProfile, err := ProfileLocks{}.Lock(ctx, p.Name)
	if err != nil {
		return err
	}
	defer unlockProfile()
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
