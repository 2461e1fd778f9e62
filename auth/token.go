package auth

import (
	"context"
	"errors"
	"time"
)

// Version is Tokentray's release, sent in the User-Agent header.
const Version = "0.1.0"

// UserAgent names Tokentray and its version on every request.
const UserAgent = "Tokentray/" + Version

// Token is one grant: an access token, the refresh token that renews it, and
// when the access token stops being accepted.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry"`
	// Scope is what the server granted, when the protocol says; it may
	// differ from what was asked for.
	Scope string `json:"scope,omitempty"`
}

// ValidFor reports whether the access token is still accepted d after now.
func (t Token) ValidFor(now time.Time, d time.Duration) bool {
	return t.AccessToken != "" && now.Add(d).Before(t.Expiry)
}

// Flow is one token protocol: it obtains a grant from client credentials and
// renews it with a refresh token. Caching and persistence wrap a Flow.
type Flow interface {
	Acquire(ctx context.Context) (Token, error)
	Refresh(ctx context.Context, refreshToken string) (Token, error)
}

// ErrKeychainNotAnswering is wrapped by the error of a TokenStore, or of a
// Flow reading its secrets, whose keychain did not answer in time: a
// wedged keyring daemon, or an unlock prompt nobody answered. The Keeper
// retries such a profile in StateKeychain; only the person at the
// keychain can help, but nothing about the profile is wrong.
var ErrKeychainNotAnswering = errors.New("keychain not answering")

// TokenStore persists the last grant of each profile. Found is false, with a
// nil error, when the profile has none yet.
type TokenStore interface {
	LoadToken(profile string) (t Token, found bool, err error)
	SaveToken(profile string, t Token) error
}
