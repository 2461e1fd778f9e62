package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// ErrUnknownProfile is wrapped by Tokens.Token for a name no profile has.
var ErrUnknownProfile = errors.New("unknown profile")

// Tokens hands out valid access tokens for the configured profiles. The agent
// keeps one for its whole life; the CLI makes one for a single request when no
// agent runs, so both take the same path from keychain to server.
type Tokens struct {
	configPath string
	keychain   store.Keychain
	deviceInfo auth.DeviceInfo

	mu     sync.Mutex
	cfg    *store.Config
	status map[string]ProfileStatus
	// held keeps each profile's last good token in memory, so a request for
	// a fresh token costs no keychain read.
	held map[string]auth.Token
	// One lock per profile, so that concurrent requests for one profile make
	// one refresh while other profiles go on.
	locks map[string]*sync.Mutex
}

// NewTokens reads the profiles at configPath.
func NewTokens(configPath string, keychain store.Keychain) (*Tokens, error) {
	t := &Tokens{
		configPath: configPath,
		keychain:   keychain,
		deviceInfo: auth.DetectDeviceInfo(),
		status:     map[string]ProfileStatus{},
		held:       map[string]auth.Token{},
		locks:      map[string]*sync.Mutex{},
	}
	return t, t.Reload()
}

// Reload reads the profiles again, after the GUI or the CLI changed them.
func (t *Tokens) Reload() error {
	cfg, err := store.Load(t.configPath)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg = cfg
	// A profile may have been re-added with other credentials: its next
	// request goes to the keychain, which holds what the editor left there.
	clear(t.held)
	return nil
}

// Profiles returns the configured profiles in their configured order.
func (t *Tokens) Profiles() []store.Profile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]store.Profile(nil), t.cfg.Profiles...)
}

// Status returns what is known of each profile, without secrets.
func (t *Tokens) Status() []ProfileStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ProfileStatus, 0, len(t.cfg.Profiles))
	for _, p := range t.cfg.Profiles {
		s, ok := t.status[p.Name]
		if !ok {
			s = ProfileStatus{Name: p.Name, State: "none"}
		}
		out = append(out, s)
	}
	return out
}

// Token returns an access token of profile that stays valid for at least
// auth.DefaultMargin, refreshing or acquiring one when needed.
func (t *Tokens) Token(ctx context.Context, profile string) (auth.Token, error) {
	p, device, lock, err := t.profile(profile)
	if err != nil {
		return auth.Token{}, err
	}
	lock.Lock()
	defer lock.Unlock()
	now := time.Now()
	t.mu.Lock()
	held := t.held[profile]
	t.mu.Unlock()
	if held.ValidFor(now, auth.DefaultMargin) {
		return held, nil
	}
	tok, err := t.fresh(ctx, p, device, now)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		prev := t.status[profile]
		t.status[profile] = ProfileStatus{Name: profile, State: "error", Expiry: prev.Expiry, Error: err.Error()}
		return auth.Token{}, fmt.Errorf("profile %s: %w", profile, err)
	}
	t.held[profile] = tok
	t.status[profile] = ProfileStatus{Name: profile, State: "valid", Expiry: tok.Expiry}
	return tok, nil
}

// fresh takes the token from the keychain when it is still good, and reads
// the client secret only when the server must be asked.
func (t *Tokens) fresh(ctx context.Context, p store.Profile, device auth.Device, now time.Time) (auth.Token, error) {
	stored, found, err := t.keychain.LoadToken(p.Name)
	if err != nil {
		return auth.Token{}, err
	}
	if found && stored.ValidFor(now, auth.DefaultMargin) {
		return stored, nil
	}
	flow, err := t.flow(p, device)
	if err != nil {
		return auth.Token{}, err
	}
	return auth.Fresh(ctx, flow, t.keychain, p.Name, now, auth.DefaultMargin)
}

// profile looks name up and gives the device it speaks for and the lock
// that serialises its refreshes.
func (t *Tokens) profile(name string) (store.Profile, auth.Device, *sync.Mutex, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.cfg.Profile(name)
	if !ok {
		known := make([]string, 0, len(t.cfg.Profiles))
		for _, q := range t.cfg.Profiles {
			known = append(known, q.Name)
		}
		return store.Profile{}, auth.Device{}, nil, unknownProfile(name, known)
	}
	if t.cfg.EnsureDeviceID() {
		// The device id is made once and kept for good: persist it before use.
		if err := t.cfg.Save(t.configPath); err != nil {
			return store.Profile{}, auth.Device{}, nil, err
		}
	}
	lock, ok := t.locks[name]
	if !ok {
		lock = &sync.Mutex{}
		t.locks[name] = lock
	}
	return p, auth.Device{ID: t.cfg.DeviceID, Info: t.deviceInfo, Network: p.Network}, lock, nil
}

// flow builds the protocol client of p with its secret from the keychain.
func (t *Tokens) flow(p store.Profile, device auth.Device) (auth.Flow, error) {
	if p.Flow != "identity" {
		return nil, fmt.Errorf("profile %s uses flow %q, which this version does not support", p.Name, p.Flow)
	}
	secret, err := t.keychain.ClientSecret(p.Name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("profile %s has no client secret in the keychain: add it again with 'tokentray add %s …'", p.Name, p.Name)
		}
		return nil, err
	}
	return &auth.IdentityFlow{BaseURL: p.BaseURL, ClientKey: p.ClientKey, ClientSecret: secret, Device: device}, nil
}

func unknownProfile(name string, known []string) error {
	if len(known) == 0 {
		return fmt.Errorf("%w %q: there are no profiles yet; add one with 'tokentray add %s --url … --client-key …'", ErrUnknownProfile, name, name)
	}
	sort.Strings(known)
	return fmt.Errorf("%w %q: known profiles are %s", ErrUnknownProfile, name, strings.Join(known, ", "))
}
