package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Entry is one entry filed under a Keychain's service: where it is and its
// account name, never its value.
type Entry struct {
	Account string
	// Item is the Secret Service item's D-Bus object path; empty in the
	// secrets file, where the account names the entry.
	Item string
}

// ErrListUnsupported is wrapped by the error of Entries where this
// platform's keychain cannot be listed yet (macOS and Windows).
var ErrListUnsupported = errors.New("listing the keychain's entries is not supported on this platform yet")

// Entries lists every entry filed under k's service, sorted by account.
func (k Keychain) Entries() ([]Entry, error) {
	var entries []Entry
	switch b := k.backend().(type) {
	case *vault:
		accounts, err := b.accounts(k.service())
		if err != nil {
			return nil, err
		}
		for _, a := range accounts {
			entries = append(entries, Entry{Account: a})
		}
	case bounded:
		err := b.do(func() (err error) {
			entries, err = listKeychain(k.service())
			return err
		})
		if err != nil {
			return nil, k.explainList("listing the entries", err)
		}
	default:
		return nil, ErrListUnsupported
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Account, b.Account) })
	return entries, nil
}

// explainList words a failure of a listing or of a deletion by item as
// explain does.
func (k Keychain) explainList(what string, err error) error {
	prefix := fmt.Sprintf("keychain (service %q): %s", k.service(), what)
	switch {
	case errors.As(err, new(*keychainDown)):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, ErrListUnsupported):
		return fmt.Errorf("%s: %w", prefix, err)
	case locked(err):
		return fmt.Errorf("%s: %w (%w); %s", prefix, ErrLocked, err, unlockRemedy())
	}
	return fmt.Errorf("%s: %s: %w; %s", prefix, unavailable(), err, remedy())
}

// Orphans returns the entries under k's service that no profile called one
// of names owns: those of profiles removed by a version that left them, and
// chunks no chunk header names (a write cut short). A profile owns the
// accounts of the Keychain doc and the chunks its headers name.
func (k Keychain) Orphans(names []string) ([]Entry, error) {
	entries, err := k.Entries()
	if err != nil {
		return nil, err
	}
	var orphans []Entry
	for _, e := range entries {
		owned, err := k.owned(names, e.Account)
		if err != nil {
			return nil, err
		}
		if !owned {
			orphans = append(orphans, e)
		}
	}
	return orphans, nil
}

// owned reports whether a profile in names owns account.
func (k Keychain) owned(names []string, account string) (bool, error) {
	name, rest, ok := strings.Cut(account, "/")
	if !ok || !slices.Contains(names, name) {
		return false, nil
	}
	rest = "/" + rest
	if slices.Contains(profileSuffixes, rest) {
		return true, nil
	}
	// ACCOUNT/chunk/GEN/I is owned while ACCOUNT's header names it.
	base, chunk, ok := strings.Cut(rest, "/chunk/")
	if !ok || !slices.Contains(profileSuffixes, base) {
		return false, nil
	}
	genText, indexText, _ := strings.Cut(chunk, "/")
	gen, err1 := strconv.ParseUint(genText, 10, 64)
	index, err2 := strconv.Atoi(indexText)
	if err1 != nil || err2 != nil || chunkAccount(name+base, gen, index) != account {
		return false, nil
	}
	h, chunked, err := k.header("read", name+base, "")
	if err != nil {
		return false, err
	}
	return chunked && h.gen == gen && index < h.chunks, nil
}

// DeleteOrphan deletes e if it is still an orphan once the lock of the
// profile its account names is held and the config at configPath is read
// again: a profile saved or a chunked value written since the listing keeps
// its entries.
func (k Keychain) DeleteOrphan(ctx context.Context, configPath string, e Entry) error {
	name, _, _ := strings.Cut(e.Account, "/")
	if ValidateProfileName(name) == nil {
		unlock, err := (ProfileLocks{}).Lock(ctx, name)
		if err != nil {
			return err
		}
		defer unlock()
	}
	cfg, err := Load(configPath)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		names = append(names, p.Name)
	}
	if owned, err := k.owned(names, e.Account); err != nil || owned {
		return err
	}
	switch b := k.backend().(type) {
	case *vault:
		return k.explain("delete", e.Account, b.Delete(k.service(), e.Account), "")
	case bounded:
		if err := b.do(func() error { return deleteKeychainItem(e.Item) }); err != nil {
			return k.explainList(fmt.Sprintf("delete %q (%s)", e.Account, e.Item), err)
		}
		return nil
	}
	return ErrListUnsupported
}

// Check reports whether k can be reached and read: the keychain answers
// and is unlocked (it may show the unlock prompt), or the secrets file
// opens with its passphrase. It reads no secret.
func (k Keychain) Check() error {
	if v, ok := k.backend().(*vault); ok {
		if _, err := v.load(); err != nil {
			return v.fail(err)
		}
		return nil
	}
	// No account without a '/' belongs to a profile, so this finds nothing
	// where the keychain works.
	const probe = "tokentray-doctor-probe"
	if _, err := k.get(probe); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
