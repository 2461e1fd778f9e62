package agent

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/logging"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

// eventBuffer is how many events a slow /v1/events reader may fall behind
// before its stream is ended; it reconnects and starts from the status.
const eventBuffer = 64

// Tokens hands out valid access tokens for the configured profiles. The
// agent calls Keep, and an auth.Keeper then renews every profile's token in
// the background. The CLI without an agent uses Token alone: each call runs
// a Keeper for that one profile and closes it, so both take the same path
// from keychain to server.
type Tokens struct {
	configPath string
	keychain   serialKeychain
	deviceInfo auth.DeviceInfo
	// locks keep the agent and a CLI from refreshing one profile at once.
	locks auth.Locker

	// setMu orders the Keeper's Set calls. It is not mu: Set reports
	// events, and publish takes mu.
	setMu  sync.Mutex
	mu     sync.Mutex
	cfg    *store.Config
	keeper *auth.Keeper // nil until Keep
	// loaded is closed once Keep gave the Keeper the profiles, which it
	// does in the background; nil until Keep.
	loaded chan struct{}
	access *access.Log // who took which token
	// notify shows a desktop notification; Run sets it, for the first
	// use of a profile's token by a program. nil: no notifications.
	notify func(summary, body string) error
	subs   map[chan auth.Event]struct{}
	closed bool // by Close: no new subscribers
}

// NewTokens reads the profiles at configPath.
func NewTokens(configPath string, keychain store.Keychain) (*Tokens, error) {
	t := &Tokens{
		configPath: configPath,
		keychain:   serialKeychain{k: keychain, mu: &sync.Mutex{}},
		deviceInfo: auth.DetectDeviceInfo(),
		locks:      store.ProfileLocks{},
		subs:       map[chan auth.Event]struct{}{},
		access:     access.Open(access.Path(configPath)),
	}
	cfg, err := store.Load(configPath)
	if err != nil {
		return nil, err
	}
	t.cfg = cfg
	return t, nil
}

// Keep starts renewing every profile's token in the background, until
// Close. Only the agent does this; the CLI asks for one token and exits.
// It returns at once: the profiles' secrets are read in the background,
// so that a keychain that does not answer holds up no LocalAPI or tray.
func (t *Tokens) Keep() error {
	t.mu.Lock()
	if t.keeper != nil {
		t.mu.Unlock()
		return nil
	}
	if err := t.ensureDeviceID(); err != nil {
		t.mu.Unlock()
		return err
	}
	t.keeper = auth.NewKeeper(t.keychain, auth.KeeperOptions{Locker: t.locks, OnEvent: t.publish})
	loaded := make(chan struct{})
	t.loaded = loaded
	t.mu.Unlock()
	go func() {
		defer close(loaded)
		if err := t.setFlows(); err != nil {
			log.Printf("reading the profiles: %v", err)
		}
	}()
	return nil
}

// Close stops the background renewal and ends the event streams.
func (t *Tokens) Close() {
	t.mu.Lock()
	k := t.keeper
	t.closed = true
	for ch := range t.subs {
		close(ch)
		delete(t.subs, ch)
	}
	t.mu.Unlock()
	if k != nil {
		k.Close()
	}
}

// Reload reads the profiles again, after the GUI or the CLI changed them.
// The Keeper drops removed profiles, starts on new ones and starts afresh
// on those whose settings or secrets changed.
func (t *Tokens) Reload() error {
	cfg, err := store.Load(t.configPath)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.cfg = cfg
	t.mu.Unlock()
	return t.setFlows()
}

// setFlows gives the Keeper, once Keep made it, the profiles last read with
// their secrets read now. setMu keeps the Sets in order; t.mu is not held
// while the keychain is read, so that the status, the event streams and
// the tray answer meanwhile.
func (t *Tokens) setFlows() error {
	t.setMu.Lock()
	defer t.setMu.Unlock()
	t.mu.Lock()
	k := t.keeper
	err := t.ensureDeviceID()
	profiles := slices.Clone(t.cfg.Profiles)
	deviceID := t.cfg.DeviceID
	t.mu.Unlock()
	if k == nil || err != nil {
		return err
	}
	k.Set(t.flows(profiles, deviceID))
	return nil
}

// Recheck has every profile examined again now: after a resume from
// suspend or a network change.
func (t *Tokens) Recheck() {
	if k := t.keep(); k != nil {
		k.Recheck()
	}
}

// Profiles returns the configured profiles in their configured order.
func (t *Tokens) Profiles() []store.Profile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]store.Profile(nil), t.cfg.Profiles...)
}

// Settings returns the app-wide settings, read from the config now: the
// window may save them without asking for a reload. When the file cannot
// be read, the settings last read are used.
func (t *Tokens) Settings() store.Settings {
	cfg, err := store.Load(t.configPath)
	if err == nil {
		return cfg.Settings
	}
	log.Printf("reading the settings: %v; using those read before", err)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg.Settings
}

// Token returns an access token of profile that stays valid for at least
// auth.DefaultMargin, refreshing or acquiring one when needed.
func (t *Tokens) Token(ctx context.Context, profile string) (auth.Token, error) {
	t.mu.Lock()
	k := t.keeper
	if k == nil {
		// The one-shot path: a Keeper for this profile alone.
		p, device, err := t.profile(profile)
		t.mu.Unlock()
		if err != nil {
			return auth.Token{}, err
		}
		// A stored token still good for the margin needs neither the lock
		// nor a Keeper; any trouble reading it is the Keeper's to report.
		if stored, found, err := t.keychain.LoadToken(profile); err == nil && found && stored.ValidFor(time.Now(), auth.DefaultMargin) {
			return stored, nil
		}
		k = auth.NewKeeper(t.keychain, auth.KeeperOptions{Locker: t.locks})
		defer k.Close()
		k.Set(map[string]auth.Flow{profile: &keychainFlow{t: t, p: p, device: device}})
	} else {
		_, ok := t.cfg.Profile(profile)
		loaded := t.loaded
		t.mu.Unlock()
		if !ok {
			return auth.Token{}, t.unknown(profile)
		}
		// Until then the Keeper knows no profile.
		select {
		case <-loaded:
		case <-ctx.Done():
			return auth.Token{}, ctx.Err()
		}
	}
	tok, err := k.Token(ctx, profile)
	for retries := 0; errors.Is(err, auth.ErrUnknownProfile); retries++ {
		// A reload since the check above removed the profile, or changed
		// it and so replaced the request in flight: only the first is
		// unknown to the caller; the changed profile is asked again.
		t.mu.Lock()
		_, ok := t.cfg.Profile(profile)
		t.mu.Unlock()
		if !ok {
			return auth.Token{}, t.unknown(profile)
		}
		if retries == maxChangedRetries {
			return auth.Token{}, fmt.Errorf("profile %s kept changing while its token was fetched: try again", profile)
		}
		tok, err = k.Token(ctx, profile)
	}
	return tok, err
}

// maxChangedRetries bounds how often Token asks again for a profile that a
// reload changed meanwhile.
const maxChangedRetries = 3

// RefreshNow renews profile's token now, in the background.
func (t *Tokens) RefreshNow(profile string) error {
	t.mu.Lock()
	k, loaded := t.keeper, t.loaded
	_, known := t.cfg.Profile(profile)
	t.mu.Unlock()
	if k == nil {
		return errors.New("tokens are not being kept")
	}
	select {
	case <-loaded:
	default:
		if known {
			return nil // the Keeper starts on it as soon as it has it
		}
	}
	if err := k.RefreshNow(profile); errors.Is(err, auth.ErrUnknownProfile) {
		return t.unknown(profile)
	} else if err != nil {
		return err
	}
	return nil
}

// Subscribe returns a channel of every state change, and the function that
// ends the subscription. The channel is closed when the subscriber falls
// more than eventBuffer events behind, or on Close; after Close it is nil.
func (t *Tokens) Subscribe() (<-chan auth.Event, func()) {
	ch := make(chan auth.Event, eventBuffer)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, func() {}
	}
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.subs[ch]; ok {
			delete(t.subs, ch)
			close(ch)
		}
	}
}

// Events returns the current state of every profile, without secrets, in
// the configured order, as events: the status, and the start of an event
// stream.
func (t *Tokens) Events() []auth.Event {
	var kept []auth.Event
	if k := t.keep(); k != nil {
		kept = k.Status()
	}
	byName := make(map[string]auth.Event, len(kept))
	for _, e := range kept {
		byName[e.Profile] = e
	}
	profiles := t.Profiles()
	out := make([]auth.Event, 0, len(profiles))
	for _, p := range profiles {
		e, ok := byName[p.Name]
		if !ok {
			e = auth.Event{Profile: p.Name, State: auth.StateNone}
		}
		out = append(out, e)
	}
	return out
}

// publish is the Keeper's OnEvent: it hands e to every subscriber without
// ever blocking the Keeper on a slow one.
func (t *Tokens) publish(e auth.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ch := range t.subs {
		select {
		case ch <- e:
		default:
			delete(t.subs, ch)
			close(ch)
		}
	}
}

func (t *Tokens) keep() *auth.Keeper {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keeper
}

// flows builds the flow of every profile for the Keeper. Secrets are read
// now, so that a reload notices changed ones (the Keeper compares flows);
// a profile whose secrets cannot be read gets a flow that reads them at
// each request and reports why it cannot.
func (t *Tokens) flows(profiles []store.Profile, deviceID string) map[string]auth.Flow {
	flows := make(map[string]auth.Flow, len(profiles))
	for _, p := range profiles {
		device := profile.Device(deviceID, t.deviceInfo, p)
		f, err := t.flow(p, device)
		if err != nil {
			log.Printf("profile %s: %v", p.Name, err)
			f = &keychainFlow{t: t, p: p, device: device}
		}
		flows[p.Name] = f
	}
	return flows
}

// profile looks name up and gives the device it speaks for. Called with
// t.mu held.
func (t *Tokens) profile(name string) (store.Profile, auth.Device, error) {
	p, ok := t.cfg.Profile(name)
	if !ok {
		return store.Profile{}, auth.Device{}, profile.Unknown(name, t.cfg.Profiles)
	}
	if err := t.ensureDeviceID(); err != nil {
		return store.Profile{}, auth.Device{}, err
	}
	return p, t.device(p), nil
}

// ensureDeviceID makes the device id once and persists it before use: it
// is kept for good. It goes into the config as it is now, under the config
// lock: t.cfg may be older than a change the window or the CLI saved since,
// which saving t.cfg would undo. Called with t.mu held (lock order: t.mu,
// then the config lock; no holder of the config lock takes t.mu).
func (t *Tokens) ensureDeviceID() error {
	if t.cfg.DeviceID != "" {
		return nil
	}
	id, err := store.DeviceID(t.configPath)
	if err != nil {
		return err
	}
	t.cfg.DeviceID = id
	return nil
}

func (t *Tokens) device(p store.Profile) auth.Device {
	return profile.Device(t.cfg.DeviceID, t.deviceInfo, p)
}

func (t *Tokens) unknown(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return profile.Unknown(name, t.cfg.Profiles)
}

// flow builds the protocol client of p with its secrets from the keychain.
// Its errors are auth.Errors, so that the Keeper knows whether to retry.
func (t *Tokens) flow(p store.Profile, device auth.Device) (auth.Flow, error) {
	var s store.Secrets
	for _, kind := range profile.NeededSecrets(p) {
		v, err := t.keychain.secret(p.Name, kind)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, &auth.Error{Op: "acquire", Err: &profile.SecretError{Profile: p.Name, Kind: kind, Err: err}, Action: auth.NeedsUser}
		case err != nil:
			// A keychain that does not answer (locked, not running) is
			// worth a retry.
			return nil, &auth.Error{Op: "acquire", Err: err, Action: auth.RetryLater}
		}
		profile.SetSecret(&s, kind, v)
	}
	return profile.NewFlow(p, s, device)
}

// serialKeychain makes one keychain call at a time. The Keeper refreshes
// profiles concurrently, but a locked keychain should ask the user to
// unlock it once, not once per profile.
type serialKeychain struct {
	k  store.Keychain
	mu *sync.Mutex
}

var _ auth.TokenStore = serialKeychain{}

// LoadToken is store.Keychain's, serialised. Like every secret passing
// through here, the tokens read are registered with the log's redactor.
func (s serialKeychain) LoadToken(profile string) (auth.Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, found, err := s.k.LoadToken(profile)
	logging.RedactToken(t.AccessToken, t.RefreshToken)
	return t, found, err
}

// SaveToken is store.Keychain's, serialised. The Keeper saves every token
// a server issues before handing it out, so each is redacted from then on.
func (s serialKeychain) SaveToken(profile string, t auth.Token) error {
	logging.RedactToken(t.AccessToken, t.RefreshToken)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.k.SaveToken(profile, t)
}

// secret reads one secret, serialised, and registers it with the log's
// redactor.
func (s serialKeychain) secret(profile string, kind store.SecretKind) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.k.Secret(profile, kind)
	logging.Redact(v)
	return v, err
}

// keychainFlow reads the secrets at each request. The CLI uses it so that a
// token still valid in the keychain costs no secret lookup; the agent, for
// a profile whose secrets could not be read when the profiles were loaded.
type keychainFlow struct {
	t      *Tokens
	p      store.Profile
	device auth.Device
}

// Acquire obtains a grant with the secrets read now.
func (f *keychainFlow) Acquire(ctx context.Context) (auth.Token, error) {
	flow, err := f.t.flow(f.p, f.device)
	if err != nil {
		return auth.Token{}, err
	}
	return flow.Acquire(ctx)
}

// Refresh renews a grant with the secrets read now.
func (f *keychainFlow) Refresh(ctx context.Context, refreshToken string) (auth.Token, error) {
	flow, err := f.t.flow(f.p, f.device)
	if err != nil {
		return auth.Token{}, err
	}
	return flow.Refresh(ctx, refreshToken)
}
