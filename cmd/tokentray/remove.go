package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

var removeCommand = command{
	name:     "remove",
	synopsis: "tokentray remove NAME",
	help: `Delete profile NAME from the config and every keychain entry it owns
(client secret, session token, uid signature, token record). A web grant profile's
refresh token is revoked at the server first, best effort: a server that
cannot be reached does not keep the profile. The identity flow has no
revocation, so its tokens stay valid until they expire. A running agent
is told to reload.`,
	run: runRemove,
}

func runRemove(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("remove")
	name, rest, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	path, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	p, ok := cfg.Profile(name)
	if !ok {
		return unknownProfile(name, cfg)
	}
	k := openSecrets()
	if p.Flow == store.FlowWeb {
		if err := revoke(ctx, k, p); err != nil {
			fmt.Fprintf(std.err, "Could not revoke the refresh token of %s at %s (%v); removing the profile anyway.\n", name, p.BaseURL, err)
		}
	}
	// The config and the agent first, so that nothing starts a refresh of
	// the profile any more; then its entries go under the profile's lock,
	// which waits for a refresh already in flight to save and finish.
	cfg.Remove(name)
	if err := cfg.Save(path); err != nil {
		return err
	}
	reloadAgent(ctx, std.err)
	unlock, err := store.ProfileLocks{}.Lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := k.DeleteProfile(name); err != nil {
		return fmt.Errorf("removed profile %s from the config, but not its keychain entries (service %q, accounts %s/…): %w", name, store.Service, name, err)
	}
	fmt.Fprintf(std.err, "Removed profile %s and its keychain entries.\n", name)
	return nil
}

// revokeTimeout bounds the revocation, which must not hold up a removal.
const revokeTimeout = 10 * time.Second

// revoke revokes the stored refresh token of web profile p, so that
// removing the profile leaves no live grant behind at the server.
func revoke(ctx context.Context, k store.Keychain, p store.Profile) error {
	tok, found, err := k.LoadToken(p.Name)
	if err != nil || !found || tok.RefreshToken == "" {
		return err
	}
	secret, err := k.ClientSecret(p.Name)
	if err != nil {
		return err
	}
	session, err := k.SessionToken(p.Name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	flow := &auth.WebGrantFlow{BaseURL: p.BaseURL, ClientID: p.ClientID, ClientSecret: secret, SessionToken: session,
		SubType: p.SubType, Sub: p.Sub, Scope: p.Scope}
	return flow.Revoke(ctx, tok.RefreshToken)
}

// unknownProfile names the profiles there are, as the token path does.
func unknownProfile(name string, cfg *store.Config) error {
	if len(cfg.Profiles) == 0 {
		return fmt.Errorf("unknown profile %q: there are no profiles", name)
	}
	known := make([]string, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		known = append(known, p.Name)
	}
	slices.Sort(known)
	return fmt.Errorf("unknown profile %q: known profiles are %s", name, strings.Join(known, ", "))
}
