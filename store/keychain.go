package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
)

// Service is the keychain service name every Tokentray entry is filed
// under (the "service" attribute in the Secret Service).
const Service = "tokentray"

// ErrNotFound is wrapped by the error for a keychain entry that does not
// exist.
var ErrNotFound = errors.New("no such keychain entry")

// ErrLocked is wrapped by the error for a keychain that is locked and was
// not unlocked: on Linux, the unlock prompt was dismissed or could not be
// shown. Tokentray never falls back to keeping a secret elsewhere.
var ErrLocked = errors.New("the keyring is locked")

// Keychain keeps each profile's secrets in the OS keychain (the Secret
// Service on Linux, the login keychain on macOS, Credential Manager on
// Windows). A profile NAME owns these entries, by account name:
//
//	NAME/client-secret  the client secret, as given
//	NAME/session-token  the session token of a web grant profile
//	NAME/uid-signature  the uid signature of a signed-in identity profile
//	NAME/token          the token record: access token, refresh token and
//	                    expiry as one JSON object
//
// The token record is a single entry so that one write replaces all three
// together: a reader never sees a new access token with an old refresh
// token. A value too large for one entry on this platform is chunked
// (see chunk.go) and read back whole, or not at all.
//
// On Linux a locked keyring makes a call wait while the Secret Service
// shows its unlock prompt. Every call to the OS keychain ends within
// KeychainTimeout (see bounded), with an error wrapping ErrNotAnswering
// when the keychain did not answer; a caller that must stay responsive
// meanwhile still calls from a goroutine of its own.
type Keychain struct {
	Service string // zero means Service

	// limit, when positive, replaces the platform's largest single value,
	// so that tests exercise chunking on Linux, which has no limit.
	limit int
	// kr, when nil, is go-keyring; tests put a fake here.
	kr keyring.Keyring
}

var _ auth.TokenStore = Keychain{}

// OpenKeychain returns the Keychain the settings of the config at
// configPath choose: the OS keychain, or for Settings.Secrets "file" the
// encrypted secrets file beside the config. Its passphrase comes from the
// environment variable Settings.PassphraseEnv names, else from ask (nil
// where there is no terminal), when first needed. A config that cannot be
// read, or names no backend this build knows, makes a Keychain whose every
// call says so.
func OpenKeychain(configPath string, ask Passphrase) Keychain {
	cfg, err := Load(configPath)
	if err != nil {
		return Keychain{kr: failing{&backendError{err}}}
	}
	k, err := cfg.Settings.keychain(configPath, cfg.Settings.Secrets, ask)
	if err != nil {
		return Keychain{kr: failing{&backendError{err}}}
	}
	return k
}

// Account name suffixes; a valid profile name has no '/', so every account
// belongs to exactly one profile.
const (
	clientSecretSuffix = "/client-secret"
	sessionTokenSuffix = "/session-token"
	uidSignatureSuffix = "/uid-signature"
	tokenSuffix        = "/token"
)

// tokenRecord is the stored form of auth.Token. It is store's own type so
// that a change to auth.Token's JSON tags cannot silently orphan the
// records already in people's keychains.
type tokenRecord struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry"`
	Scope        string    `json:"scope,omitempty"` // absent in records older than the field
}

// SetClientSecret stores profile's client secret, replacing any earlier one.
func (k Keychain) SetClientSecret(profile, secret string) error {
	return k.setProfileEntry(profile, clientSecretSuffix, secret)
}

// ClientSecret returns profile's client secret; the error wraps ErrNotFound
// when there is none.
func (k Keychain) ClientSecret(profile string) (string, error) {
	return k.profileEntry(profile, clientSecretSuffix)
}

// SetSessionToken stores the session token of a web grant profile.
func (k Keychain) SetSessionToken(profile, token string) error {
	return k.setProfileEntry(profile, sessionTokenSuffix, token)
}

// SessionToken returns profile's session token; the error wraps ErrNotFound
// when there is none.
func (k Keychain) SessionToken(profile string) (string, error) {
	return k.profileEntry(profile, sessionTokenSuffix)
}

// SetUIDSignature stores the uid signature of a signed-in identity
// profile. It is a secret: it vouches for the account, so it lives here and
// not beside the uid in the config.
func (k Keychain) SetUIDSignature(profile, signature string) error {
	return k.setProfileEntry(profile, uidSignatureSuffix, signature)
}

// UIDSignature returns profile's uid signature; the error wraps ErrNotFound
// when there is none.
func (k Keychain) UIDSignature(profile string) (string, error) {
	return k.profileEntry(profile, uidSignatureSuffix)
}

// setProfileEntry stores value as profile's entry with suffix, once profile
// is known to be a valid name: from another (say "a/client-secret") the
// account could be some other profile's entry.
func (k Keychain) setProfileEntry(profile, suffix, value string) error {
	if err := ValidateProfileName(profile); err != nil {
		return err
	}
	return k.set(profile+suffix, value)
}

// profileEntry returns profile's entry with suffix, checking the name as
// setProfileEntry does.
func (k Keychain) profileEntry(profile, suffix string) (string, error) {
	if err := ValidateProfileName(profile); err != nil {
		return "", err
	}
	return k.get(profile + suffix)
}

// SaveToken replaces profile's token record in one keychain write.
func (k Keychain) SaveToken(profile string, t auth.Token) error {
	if err := ValidateProfileName(profile); err != nil {
		return err
	}
	data, err := json.Marshal(tokenRecord(t))
	if err != nil {
		// Only an expiry outside years 0–9999 gets here; the message
		// quotes no token.
		return fmt.Errorf("keychain: token record of profile %q: %w", profile, err)
	}
	return k.set(profile+tokenSuffix, string(data))
}

// LoadToken returns profile's token record. Found is false, with a nil
// error, when the profile has none yet.
func (k Keychain) LoadToken(profile string) (auth.Token, bool, error) {
	if err := ValidateProfileName(profile); err != nil {
		return auth.Token{}, false, err
	}
	data, err := k.get(profile + tokenSuffix)
	if errors.Is(err, ErrNotFound) {
		return auth.Token{}, false, nil
	}
	if err != nil {
		return auth.Token{}, false, err
	}
	var r tokenRecord
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		// json's messages can quote the input, which is secret: say what
		// is wrong and what fixes it, nothing more.
		return auth.Token{}, false, fmt.Errorf("keychain (service %q): the entry %q is not a token record Tokentray wrote; delete it or sign in to profile %q again to replace it", k.service(), profile+tokenSuffix, profile)
	}
	return auth.Token(r), true, nil
}

// DeleteProfile removes every keychain entry profile owns. Entries that are
// already gone are fine, so it can be retried after a partial failure.
func (k Keychain) DeleteProfile(profile string) error {
	if err := ValidateProfileName(profile); err != nil {
		return err
	}
	for _, account := range []string{profile + clientSecretSuffix, profile + sessionTokenSuffix, profile + uidSignatureSuffix, profile + tokenSuffix} {
		if err := k.delete(account); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func (k Keychain) service() string {
	if k.Service == "" {
		return Service
	}
	return k.Service
}

// explain turns a go-keyring error into one a person can act on. It never
// carries the value: go-keyring's causes name D-Bus objects and exit
// statuses, and secret, when known, is checked for anyway, since a cause
// that quoted it would leak it into logs and dialogs.
func (k Keychain) explain(op, account string, err error, secret string) error {
	if err == nil {
		return nil
	}
	prefix := fmt.Sprintf("keychain (service %q): %s %q", k.service(), op, account)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("%s: %w", prefix, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%s: the value (%d bytes) is too large for this platform's keychain", prefix, len(secret))
	case errors.As(err, new(*backendError)), errors.As(err, new(*keychainDown)):
		// Tokentray's own words, which never hold a value and say what
		// to do; a short value would match them by chance below.
		return fmt.Errorf("%s %q: %w", op, account, err)
	case secret != "" && strings.Contains(err.Error(), secret):
		return fmt.Errorf("%s: %s (cause withheld: it quoted the value); %s", prefix, unavailable(), remedy())
	case locked(err):
		return fmt.Errorf("%s: %w (%w); %s", prefix, ErrLocked, err, unlockRemedy())
	}
	return fmt.Errorf("%s: %s: %w; %s", prefix, unavailable(), err, remedy())
}

// locked tells a locked Secret Service collection from other failures.
// go-keyring unlocks the collection before every call and, when the unlock
// prompt is dismissed or cannot be shown, says "failed to unlock correct
// collection '<path>'"; the path is the login collection or the default
// alias, depending on the keyring. IsLocked is the Secret Service's own
// error for an item used while locked.
func locked(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed to unlock correct collection") ||
		strings.Contains(msg, "org.freedesktop.Secret.Error.IsLocked")
}

// unlockRemedy says how to unlock the keyring, which only the person can do.
func unlockRemedy() string {
	if runtime.GOOS == "darwin" {
		return "unlock your login keychain in Keychain Access and try again"
	}
	return "unlock your keyring and try again: the \"Login\" keyring in Passwords and Keys (seahorse) on GNOME, or KWallet on KDE; the unlock prompt appears when Tokentray next needs a secret, if your desktop can show it"
}

// unavailable and remedy word the common failure (no keychain daemon, or a
// locked one) for the platform the person is on.
func unavailable() string {
	switch runtime.GOOS {
	case "darwin":
		return "the macOS keychain is not available or locked"
	case "windows":
		return "Windows Credential Manager is not available"
	default:
		return "the Secret Service is not available or locked"
	}
}

func remedy() string {
	switch runtime.GOOS {
	case "darwin":
		return "unlock your login keychain (Keychain Access) and try again"
	case "windows":
		return "check that you are signed in to an interactive session and try again"
	default:
		return "start or unlock your keyring (GNOME Keyring, KWallet) and try again"
	}
}
