package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
)

// Service is the keychain service every Tokentray entry is filed under.
const Service = "tokentray"

// ErrNotFound is a keychain entry that does not exist.
var ErrNotFound = errors.New("not in the keychain")

// Keychain keeps a profile's secrets in the OS keychain: its client secret
// under the account "NAME/client-secret", and its token record (access
// token, refresh token and expiry, one entry so they change together) under
// "NAME/token".
type Keychain struct {
	Service string // zero means Service
}

var _ auth.TokenStore = Keychain{}

func (k Keychain) service() string {
	if k.Service == "" {
		return Service
	}
	return k.Service
}

// SetClientSecret stores the client secret of profile.
func (k Keychain) SetClientSecret(profile, secret string) error {
	return k.set(profile+"/client-secret", secret)
}

// ClientSecret returns the client secret of profile; ErrNotFound when none.
func (k Keychain) ClientSecret(profile string) (string, error) {
	return k.get(profile + "/client-secret")
}

// SaveToken stores the token record of profile in one write.
func (k Keychain) SaveToken(profile string, t auth.Token) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return k.set(profile+"/token", string(data))
}

// LoadToken returns the token record of profile; found is false when none.
func (k Keychain) LoadToken(profile string) (auth.Token, bool, error) {
	data, err := k.get(profile + "/token")
	if errors.Is(err, ErrNotFound) {
		return auth.Token{}, false, nil
	}
	if err != nil {
		return auth.Token{}, false, err
	}
	var t auth.Token
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		// The message of a JSON error can quote the input: keep it out.
		return auth.Token{}, false, fmt.Errorf("the token record of %s in the keychain is damaged; it will be replaced at the next sign-in", profile)
	}
	return t, true, nil
}

// DeleteProfile removes every entry profile owns; missing ones are fine.
func (k Keychain) DeleteProfile(profile string) error {
	for _, account := range []string{profile + "/client-secret", profile + "/token"} {
		if err := k.delete(account); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func (k Keychain) set(account, value string) error {
	return k.explain(account, keyring.Set(k.service(), account, value))
}

func (k Keychain) get(account string) (string, error) {
	v, err := keyring.Get(k.service(), account)
	return v, k.explain(account, err)
}

func (k Keychain) delete(account string) error {
	return k.explain(account, keyring.Delete(k.service(), account))
}

// explain turns a keyring error into one a person can act on. The causes
// go-keyring returns name services and collections, never the values.
func (k Keychain) explain(account string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("%s: %w", account, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keychain (service %q): the value of %s is too large for this platform's keychain", k.service(), account)
	default:
		return fmt.Errorf("keychain (service %q): the Secret Service is not available or is locked (%v): start or unlock your keyring (GNOME Keyring, KWallet, macOS Keychain) and try again", k.service(), err)
	}
}

// AddProfile saves p with its client secret, replacing any profile of that
// name, as the CLI and the window both do. The old token record goes: it was
// granted for the old credentials. The device id is made here if there is
// none yet, so the first request already carries the one kept for good.
func AddProfile(configPath string, k Keychain, p Profile, clientSecret string) error {
	cfg, err := Load(configPath)
	if err != nil {
		return err
	}
	// The secret goes first: a profile without its secret is useless.
	if err := k.SetClientSecret(p.Name, clientSecret); err != nil {
		return err
	}
	if err := k.delete(p.Name + "/token"); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	cfg.EnsureDeviceID()
	cfg.Put(p)
	return cfg.Save(configPath)
}
