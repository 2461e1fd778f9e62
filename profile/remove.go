package profile

import (
	"context"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// revokeTimeout bounds the revocation, which must not hold up a removal.
const revokeTimeout = 10 * time.Second

// Removal is what Remove did besides removing the profile.
type Removal struct {
	// NotRevoked is why the tokens of a profile whose flow Revokes could
	// not be revoked at the server; the profile was removed all the same.
	// It is always nil for the other flows (the identity flow).
	NotRevoked error
}

// Remove deletes profile name from the config at configPath and every
// keychain entry it owns, as `tokentray remove` and the window's Delete both
// do. The tokens of a flow that Revokes are revoked before its entries go,
// best effort: a server that cannot be reached does not keep the profile.
// reload, when not nil, is called once the config no longer has the
// profile, to tell a running agent.
func Remove(ctx context.Context, configPath string, k store.Keychain, name string, reload func(context.Context)) (Removal, error) {
	cfg, err := store.Load(configPath)
	if err != nil {
		return Removal{}, err
	}
	p, ok := cfg.Profile(name)
	if !ok {
		return Removal{}, Unknown(name, cfg.Profiles)
	}
	var r Removal
	// The config and the agent first, so that nothing starts a refresh of
	// the profile any more; then its entries go under the profile's lock,
	// which waits for a refresh already in flight to save and finish. The
	// config is changed as it is now, under its lock, and released before
	// the profile's lock is taken (the order is store's: config first).
	err = store.UpdateConfig(configPath, func(c *store.Config) error {
		if err := k.CheckBackend(configPath, c.Settings); err != nil {
			return err
		}
		c.Remove(name) // already gone: removed meanwhile, its entries go all the same
		return nil
	})
	if err != nil {
		return r, err
	}
	if reload != nil {
		reload(ctx)
	}
	unlock, err := store.ProfileLocks{}.Lock(ctx, name)
	if err != nil {
		return r, err
	}
	defer unlock()
	// Revoked only now: a refresh that rotated the refresh token has saved
	// the new one, which is the one to revoke.
	if f, _ := Lookup(p.Flow); f.Revokes {
		if err := revoke(ctx, k, p); err != nil {
			r.NotRevoked = fmt.Errorf("at %s: %w", p.BaseURL, err)
		}
	}
	if err := k.DeleteProfile(name); err != nil {
		return r, fmt.Errorf("removed profile %s from the config, but not its keychain entries (service %q, accounts %s/…): %w", name, store.Service, name, err)
	}
	return r, nil
}

// revoke revokes the stored tokens of p, so that removing the profile
// leaves no live grant behind at the server.
func revoke(ctx context.Context, k store.Keychain, p store.Profile) error {
	tok, found, err := k.LoadToken(p.Name)
	if err != nil || !found {
		return err
	}
	s, err := ReadSecrets(k, p)
	if err != nil {
		return err
	}
	flow, err := NewFlow(p, s, auth.Device{})
	if err != nil {
		return err
	}
	revoker, ok := flow.(auth.Revoker)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	return revoker.Revoke(ctx, tok)
}
