package profile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tokentray/tokentray/agent/proxy"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// FieldError is a rule a profile breaks, with the field it is about, named
// as `tokentray add` names its flag ("client-key", "sub", …), so that the
// window can show it under its entry and the CLI can name the flag.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Flows are the flows this version speaks, the default first.
func Flows() []Flow { return slices.Clone(flows) }

// Lookup finds the flow of that name.
func Lookup(name string) (Flow, bool) {
	i := slices.IndexFunc(flows, func(f Flow) bool { return f.Name == name })
	if i < 0 {
		return Flow{}, false
	}
	return flows[i], true
}

// DefaultBaseURL is the base URL a new profile of flow starts with.
func DefaultBaseURL(flow string) string {
	f, _ := Lookup(flow)
	return f.DefaultBaseURL
}

// Validate checks p against every rule a profile must meet before it is
// saved or tried: its name, its flow, its base URL and its flow's fields.
// The error is a *FieldError.
func Validate(p store.Profile) error {
	if err := store.ValidateProfileName(p.Name); err != nil {
		return &FieldError{"name", err}
	}
	f, err := lookupFlow(p)
	if err != nil {
		return &FieldError{"flow", err}
	}
	if err := auth.CheckBaseURL(p.BaseURL); err != nil {
		return &FieldError{"url", err}
	}
	if p.Proxy != "" {
		if _, err := proxy.ParseAddress(p.Proxy); err != nil {
			return &FieldError{"proxy", err}
		}
	}
	return f.validate(p)
}

func lookupFlow(p store.Profile) (Flow, error) {
	f, ok := Lookup(p.Flow)
	if !ok {
		names := make([]string, len(flows))
		for i, f := range flows {
			names[i] = f.Name
		}
		return Flow{}, fmt.Errorf("profile %s uses flow %q, which this version does not support (it speaks %s)", p.Name, p.Flow, strings.Join(names, ", "))
	}
	return f, nil
}

// SameClient says whether a and b speak to the same server as the same
// client. Only then may one take the other's stored secrets: otherwise
// whoever sits at the desk could send a secret the window never shows to a
// server of their choosing.
func SameClient(a, b store.Profile) bool {
	f, ok := Lookup(a.Flow)
	return ok && a.Flow == b.Flow && a.BaseURL == b.BaseURL && f.client(a) == f.client(b)
}

// NeededSecrets are the keychain secrets p cannot get a token without.
func NeededSecrets(p store.Profile) []store.SecretKind {
	f, ok := Lookup(p.Flow)
	if !ok {
		return []store.SecretKind{store.SecretClient}
	}
	return f.secrets(p)
}

// CheckSecrets says which needed secret of p is missing from s.
func CheckSecrets(p store.Profile, s store.Secrets) error {
	for _, kind := range NeededSecrets(p) {
		if kind.Of(s) == "" {
			return fmt.Errorf("the %s is empty: enter it", kind)
		}
	}
	return nil
}

// ReadSecrets reads the secrets p needs from k.
func ReadSecrets(k store.Keychain, p store.Profile) (store.Secrets, error) {
	var s store.Secrets
	for _, kind := range NeededSecrets(p) {
		v, err := k.Secret(p.Name, kind)
		if err != nil {
			return s, &SecretError{Profile: p.Name, Kind: kind, Err: err}
		}
		SetSecret(&s, kind, v)
	}
	return s, nil
}

// SecretError is a secret of a profile that could not be read.
type SecretError struct {
	Profile string
	Kind    store.SecretKind
	Err     error
}

func (e *SecretError) Error() string {
	if errors.Is(e.Err, store.ErrNotFound) {
		return fmt.Sprintf("profile %s has no %s in the keychain: add it again with 'tokentray add %s …'", e.Profile, e.Kind, e.Profile)
	}
	return fmt.Sprintf("reading the %s of profile %s: %v", e.Kind, e.Profile, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }

// SetSecret puts v in s as its secret of that kind.
func SetSecret(s *store.Secrets, kind store.SecretKind, v string) {
	switch kind {
	case store.SecretSessionToken:
		s.SessionToken = v
	case store.SecretUIDSignature:
		s.UIDSignature = v
	default:
		s.ClientSecret = v
	}
}

// NewFlow is the one place that maps a profile to its protocol client: the
// agent's Keeper uses it with the secrets from the keychain, and the
// window's Test with the ones being typed. device matters to the identity
// flow only. An unknown flow is an auth.Error that needs the user.
func NewFlow(p store.Profile, s store.Secrets, device auth.Device) (auth.Flow, error) {
	f, err := lookupFlow(p)
	if err != nil {
		return nil, &auth.Error{Op: "acquire", Err: err, Action: auth.NeedsUser}
	}
	return f.newFlow(p, s, device), nil
}

// Device is the device that p speaks for: this installation's id, the
// detected device info with p's overrides, and p's network setting.
func Device(deviceID string, detected auth.DeviceInfo, p store.Profile) auth.Device {
	return auth.Device{ID: deviceID, Info: p.DeviceInfo(detected), Network: p.Network}
}

// ErrUnknown is wrapped by every error about a profile name that no
// profile has.
var ErrUnknown = errors.New("unknown profile")

// Unknown is the error for name, which none of profiles has, saying which
// there are.
func Unknown(name string, profiles []store.Profile) error {
	if len(profiles) == 0 {
		return fmt.Errorf("%w %q: there are no profiles yet; add one with 'tokentray add %s …'", ErrUnknown, name, name)
	}
	known := make([]string, 0, len(profiles))
	for _, q := range profiles {
		known = append(known, q.Name)
	}
	sort.Strings(known)
	return fmt.Errorf("%w %q: known profiles are %s", ErrUnknown, name, strings.Join(known, ", "))
}

// Add validates p and its secrets, then saves them, replacing any profile
// of that name but keeping its proxy when p has none, as `tokentray add`
// does (store.AddProfile).
func Add(configPath string, k store.Keychain, p store.Profile, s store.Secrets) error {
	if err := validateAll(p, s); err != nil {
		return err
	}
	return store.AddProfile(configPath, k, p, s)
}

// Save is Add saving p's proxy as it is, "" removing it, as the window's
// editor does (store.SaveProfile).
func Save(configPath string, k store.Keychain, p store.Profile, s store.Secrets) error {
	if err := validateAll(p, s); err != nil {
		return err
	}
	return store.SaveProfile(configPath, k, p, s)
}

func validateAll(p store.Profile, s store.Secrets) error {
	if err := Validate(p); err != nil {
		return err
	}
	return CheckSecrets(p, s)
}

// testTimeout bounds Test, so a server that does not answer gives a
// message rather than a wait without end.
const testTimeout = 30 * time.Second

// Test fetches a token for p with secrets s, saving nothing, and revokes
// what it was granted where the protocol can, so a test leaves no live
// grant behind.
func Test(ctx context.Context, p store.Profile, s store.Secrets, device auth.Device) (auth.Token, error) {
	if err := Validate(p); err != nil {
		return auth.Token{}, err
	}
	flow, err := NewFlow(p, s, device)
	if err != nil {
		return auth.Token{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	tok, err := flow.Acquire(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	if r, ok := flow.(auth.Revoker); ok {
		_ = r.Revoke(ctx, tok) // best effort: the test passed either way
	}
	return tok, nil
}
