package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
// config. It holds the config lock throughout, so that no other process
// saves a config that undoes the switch or adds a profile whose secrets
// would be left behind, and every profile's lock, so that no refresh
// writes meanwhile. It copies, reads the copies back, saves the config and
// only then deletes the old copies, so a failure or crash at any point
// loses nothing: until the config is saved the old place is complete and
// in use, after it the new one. moved counts the entries copied.
//
// An entry is deleted only where the place kept holds the same value, and
// an entry the destination holds but the source lacks is kept: either may
// be the only copy, when the config named the wrong place (restored from a
// backup, edited by hand). At worst such an entry is a leftover of a move
// cut short, say a token record the server no longer honours, which a new
// sign-in replaces. Where both hold an account, the source's value wins:
// it is the one in use.
//
// When the config already names to, it only deletes the copies a move cut
// short left in the other place, and returns ErrSameBackend; wrapped, with
// the accounts, when the other place holds entries that differ or that the
// configured place lacks, which it leaves there.
func MoveSecrets(ctx context.Context, configPath, to string, ask Passphrase) (moved int, err error) {
	if to != SecretsKeychain && to != SecretsFile {
		return 0, fmt.Errorf("secrets go to %q or %q, not %q", SecretsKeychain, SecretsFile, to)
	}
	cfg, unlock, err := loadLockedContext(ctx, configPath)
	if err != nil {
		return 0, err
	}
	defer unlock()
	from := cfg.Settings.SecretsBackend()
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
	all := accounts(names)
	if from == to {
		return 0, cfg.Settings.tidy(configPath, to, all, ask)
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
		if !ok {
			continue // what dst may hold is kept: see above
		}
		err := dst.set(account, v)
		if err == nil {
			var back string
			if back, err = dst.get(account); err == nil && back != v {
				err = fmt.Errorf("%q reads back different from what was written", account)
			}
		}
		if err != nil {
			return 0, fmt.Errorf("nothing was moved, the secrets stay where they were: %w", err)
		}
	}
	// The config lock kept the config as it was read.
	cfg.Settings.Secrets = to
	if err := cfg.Save(configPath); err != nil {
		return 0, fmt.Errorf("the secrets were copied but the config not switched, so they stay where they were: %w", err)
	}
	if _, err := deleteCopies(dst, src, all); err != nil {
		return len(values), fmt.Errorf("moved %d secrets and switched to %s, but the old copies were not all deleted: %w; run this again to delete them", len(values), to, err)
	}
	return len(values), nil
}

// tidy deletes from the place other than backend, where s keeps the
// secrets, the copies of accounts that a move cut short left there, and
// returns ErrSameBackend, wrapped with what it left.
func (s Settings) tidy(configPath, backend string, accounts []string, ask Passphrase) error {
	other := SecretsFile
	if backend == SecretsFile {
		other = SecretsKeychain
	}
	old, err := s.keychain(configPath, other, ask)
	if err != nil {
		return ErrSameBackend
	}
	kept, err := s.keychain(configPath, backend, ask)
	if err != nil {
		return err
	}
	left, err := deleteCopies(kept, old, accounts)
	if err != nil {
		return fmt.Errorf("%w, but %s could not be checked for copies left by a move cut short: %w", ErrSameBackend, place(configPath, other), err)
	}
	if len(left) > 0 {
		return fmt.Errorf("%w, but %s also holds %s, which %s lacks or holds otherwise; they were left there: if they are the ones in use (the config was restored from a backup or edited), set \"secrets\": %q in the settings of %s",
			ErrSameBackend, place(configPath, other), strings.Join(left, ", "), place(configPath, backend), other, configPath)
	}
	return ErrSameBackend
}

// place names backend for a person.
func place(configPath, backend string) string {
	if backend == SecretsFile {
		return "the secrets file " + SecretsFilePath(configPath)
	}
	return "the OS keychain"
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

// deleteCopies deletes from old each of the accounts that kept holds with
// the same value, and returns those old holds that kept lacks or holds
// otherwise, which it leaves. A secrets file left with no entry is
// removed.
func deleteCopies(kept, old Keychain, accounts []string) (left []string, err error) {
	var errs []error
	for _, account := range accounts {
		v, err := old.get(account)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if w, err := kept.get(account); errors.Is(err, ErrNotFound) || err == nil && w != v {
			left = append(left, account)
			continue
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := old.delete(account); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if v, ok := old.kr.(*vault); ok && len(errs) == 0 {
		if err := v.removeIfEmpty(); err != nil {
			errs = append(errs, v.fail(err))
		}
	}
	return left, errors.Join(errs...)
}

// CheckBackend returns an error when k is not where s, the settings of the
// config at configPath, keeps the secrets: they were moved since k was
// opened, so what k wrote or deleted would miss them. Callers that change
// a profile's secrets check under the config lock.
func (k Keychain) CheckBackend(configPath string, s Settings) error {
	backend := SecretsKeychain
	switch k.kr.(type) {
	case failing:
		return nil // its every call says what is wrong
	case *vault:
		backend = SecretsFile
	}
	want := s.SecretsBackend()
	if _, err := s.keychain(configPath, want, nil); err != nil {
		return err
	}
	if backend != want {
		return fmt.Errorf("the secrets were moved to %s (tokentray secrets %s) since this began, so nothing was changed; try again", place(configPath, want), want)
	}
	return nil
}
