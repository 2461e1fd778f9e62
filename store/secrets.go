package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// The places Settings.Secrets can name.
const (
	SecretsKeychain = "keychain"
	SecretsFile     = "file"
)

// SecretsFilePath is where the secrets file of the config at configPath
// lives: beside it, in the same 0700 directory.
func SecretsFilePath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "secrets.enc")
}

// SecretsBackend is the backend s chooses: SecretsKeychain or SecretsFile,
// or what the file says when that is neither (OpenKeychain reports it).
func (s Settings) SecretsBackend() string {
	if s.Secrets == "" {
		return SecretsKeychain
	}
	return s.Secrets
}

// PassphraseVar is the environment variable the secrets file's passphrase
// is taken from.
func (s Settings) PassphraseVar() string {
	if s.PassphraseEnv == "" {
		return DefaultPassphraseEnv
	}
	return s.PassphraseEnv
}

// keychain returns the Keychain of backend, with s's passphrase variable.
func (s Settings) keychain(configPath, backend string, ask Passphrase) (Keychain, error) {
	switch backend {
	case "", SecretsKeychain:
		return Keychain{}, nil
	case SecretsFile:
		return Keychain{kr: &vault{path: SecretsFilePath(configPath), env: s.PassphraseVar(), ask: ask, kdf: defaultKDF}}, nil
	}
	return Keychain{}, needsUser(fmt.Errorf("config %s: settings.secrets is %q, but Tokentray keeps secrets in %q or %q; fix the file", configPath, backend, SecretsKeychain, SecretsFile))
}

// failing is the keyring of a Keychain that cannot be opened: every call
// returns why.
type failing struct{ err error }

func (f failing) Set(service, user, password string) error { return f.err }
func (f failing) Get(service, user string) (string, error) { return "", f.err }
func (f failing) Delete(service, user string) error        { return f.err }
func (f failing) DeleteAll(service string) error           { return f.err }

// profileSuffixes are the accounts a profile owns, after its name.
var profileSuffixes = []string{clientSecretSuffix, sessionTokenSuffix, uidSignatureSuffix, tokenSuffix}

// ErrSameBackend is returned by MoveSecrets when the secrets already are
// where they were to be moved.
var ErrSameBackend = errors.New("the secrets are there already")

// MoveSecrets moves every configured profile's secrets to backend to
// (SecretsKeychain or SecretsFile) and then records the choice in the
// config, holding every profile's lock so that no refresh writes meanwhile.
// It copies, reads the copies back, saves the config and only then deletes
// the old copies, so a failure or crash at any point loses nothing: until
// the config is saved the old place is complete and in use, after it the
// new one. moved counts the entries copied.
//
// When the config already names to, it only deletes the copies a move cut
// short left in the other place, and returns ErrSameBackend.
func MoveSecrets(ctx context.Context, configPath, to string, ask Passphrase) (moved int, err error) {
	cfg, err := Load(configPath)
	if err != nil {
		return 0, err
	}
	from := cfg.Settings.SecretsBackend()
	if to != SecretsKeychain && to != SecretsFile {
		return 0, fmt.Errorf("secrets go to %q or %q, not %q", SecretsKeychain, SecretsFile, to)
	}
	names := make([]string, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		names = append(names, p.Name)
	}
	slices.Sort(names) // one order for every locker: no deadlock
	for _, name := range names {
		unlock, err := (ProfileLocks{}).Lock(ctx, name)
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	if from == to {
		other := SecretsFile
		if to == SecretsFile {
			other = SecretsKeychain
		}
		old, err := cfg.Settings.keychain(configPath, other, ask)
		if err == nil {
			// A store that cannot be reached holds no leftovers to delete.
			old.deleteOld(accounts(names))
		}
		return 0, ErrSameBackend
	}
	src, err := cfg.Settings.keychain(configPath, from, ask)
	if err != nil {
		return 0, err
	}
	dst, err := cfg.Settings.keychain(configPath, to, ask)
	if err != nil {
		return 0, err
	}
	values := map[string]string{}
	all := accounts(names)
	for _, account := range all {
		v, err := src.get(account)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("nothing was moved: %w", err)
		}
		values[account] = v
	}
	for _, account := range all {
		v, ok := values[account]
		if ok {
			err = dst.set(account, v)
		} else if err = dst.delete(account); errors.Is(err, ErrNotFound) {
			err = nil // a stale entry there would come back to life
		}
		if err == nil && ok {
			var back string
			if back, err = dst.get(account); err == nil && back != v {
				err = fmt.Errorf("%q reads back different from what was written", account)
			}
		}
		if err != nil {
			return 0, fmt.Errorf("nothing was moved, the secrets stay where they were: %w", err)
		}
	}
	// Read afresh: a setting changed meanwhile in the window must stay.
	cfg, err = Load(configPath)
	if err != nil {
		return 0, err
	}
	cfg.Settings.Secrets = to
	if err := cfg.Save(configPath); err != nil {
		return 0, fmt.Errorf("the secrets were copied but the config not switched, so they stay where they were: %w", err)
	}
	if err := src.deleteOld(all); err != nil {
		return len(values), fmt.Errorf("moved %d secrets and switched to %s, but the old copies were not all deleted: %w; run this again to delete them", len(values), to, err)
	}
	return len(values), nil
}

// accounts lists every account the profiles called names can own.
func accounts(names []string) []string {
	var all []string
	for _, name := range names {
		for _, suffix := range profileSuffixes {
			all = append(all, name+suffix)
		}
	}
	return all
}

// deleteOld deletes the accounts from k, the place secrets were moved
// away from; a secrets file left with no entry is removed.
func (k Keychain) deleteOld(all []string) error {
	var errs []error
	for _, account := range all {
		if err := k.delete(account); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if v, ok := k.kr.(*vault); ok && len(errs) == 0 {
		if err := v.removeIfEmpty(); err != nil {
			errs = append(errs, v.fail(err))
		}
	}
	return errors.Join(errs...)
}
