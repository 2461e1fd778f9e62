package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Paths of the identity API v3 endpoints, relative to the base URL.
const (
	identityTokenPath   = "identity/v3/token"
	identityRefreshPath = "identity/v3/token/refresh"
)

// IdentityFlow is the device token flow of the identity API v3 (see
// docs/PROTOCOLS.md §1): client credentials plus a device description buy an
// access token and a rotating refresh token.
type IdentityFlow struct {
	BaseURL      string // e.g. https://api.nfl.com; see CheckBaseURL
	ClientKey    string
	ClientSecret string
	Device       Device
	// SignatureTimestamp (Unix seconds), UID and UIDSignature identify a
	// signed-in account: all three or none. Acquire and Refresh both send
	// them, as griddy's client does; without them the server issues an
	// anonymous token, without the account's entitlements. UIDSignature is
	// a secret.
	SignatureTimestamp, UID, UIDSignature string
	// Client sends the requests; nil means a client with a 30 s timeout.
	// Redirects are never followed, whatever the client says, because
	// following one would resend the secret to wherever it points.
	Client *http.Client
	// Now is the clock that turns a relative expiresIn into an expiry;
	// nil means time.Now.
	Now func() time.Time
}

var _ Flow = (*IdentityFlow)(nil)

// Acquire obtains a new grant with the client credentials.
func (f *IdentityFlow) Acquire(ctx context.Context) (Token, error) {
	return f.request(ctx, "acquire", identityTokenPath, "")
}

// Refresh renews a grant. The refresh token is spent by this call, whatever
// its outcome, so the caller must persist the one returned.
func (f *IdentityFlow) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, &Error{Op: "refresh", Reason: "no refresh token", Action: Reacquire}
	}
	return f.request(ctx, "refresh", identityRefreshPath, refreshToken)
}

type identityRequestBody struct {
	ClientKey          string      `json:"clientKey"`
	ClientSecret       string      `json:"clientSecret"`
	DeviceID           string      `json:"deviceId"`
	DeviceInfo         string      `json:"deviceInfo"`
	NetworkType        NetworkType `json:"networkType"`
	RefreshToken       string      `json:"refreshToken,omitempty"`
	SignatureTimestamp string      `json:"signatureTimestamp,omitempty"`
	UID                string      `json:"uid,omitempty"`
	UIDSignature       string      `json:"uidSignature,omitempty"`
}

type identityResponseBody struct {
	AccessToken  *string         `json:"accessToken"`
	ExpiresIn    json.RawMessage `json:"expiresIn"`
	RefreshToken string          `json:"refreshToken"`
}

func (f *IdentityFlow) request(ctx context.Context, op, path, refreshToken string) (Token, error) {
	addr, err := endpoint(f.BaseURL, path)
	if err != nil {
		return Token{}, misconfigured(op, err)
	}
	if err := f.checkConfig(); err != nil {
		return Token{}, misconfigured(op, err)
	}
	payload := identityRequestBody{
		ClientKey:          f.ClientKey,
		ClientSecret:       f.ClientSecret,
		DeviceID:           f.Device.ID,
		DeviceInfo:         f.Device.Info.Encode(),
		NetworkType:        f.Device.NetworkType(),
		RefreshToken:       refreshToken,
		SignatureTimestamp: f.SignatureTimestamp,
		UID:                f.UID,
		UIDSignature:       f.UIDSignature,
	}
	body, _ := json.Marshal(payload) // strings only: cannot fail
	x := exchange{
		op:          op,
		endpoint:    addr,
		contentType: "application/json",
		body:        body,
		red:         newRedactor(f.ClientSecret, refreshToken, f.UIDSignature),
		now:         f.now,
	}
	raw, mediaType, err := post(ctx, f.Client, x)
	if err != nil {
		return Token{}, err
	}
	return decodeToken(x, raw, mediaType, f.parseToken)
}

func (f *IdentityFlow) now() time.Time { return nowOr(f.Now) }

// checkConfig catches what the server would answer with a terse 400 or 401,
// so that the person editing the profile learns which field is wrong.
func (f *IdentityFlow) checkConfig() error {
	switch {
	case f.ClientKey == "":
		return errors.New("the client key is empty")
	case f.ClientSecret == "":
		return errors.New("the client secret is empty")
	}
	if _, err := uuid.Parse(f.Device.ID); err != nil {
		return fmt.Errorf("the device ID %q is not a UUID", f.Device.ID)
	}
	if _, err := ParseNetwork(f.Device.Network); err != nil {
		return err
	}
	set := 0
	for _, v := range []string{f.SignatureTimestamp, f.UID, f.UIDSignature} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return errors.New("a signed-in account needs the signature timestamp, the uid and the uid signature together; set all three, or none for an anonymous device")
	}
	if _, err := strconv.ParseInt(f.SignatureTimestamp, 10, 64); set == 3 && err != nil {
		return fmt.Errorf("the signature timestamp %q is not Unix seconds; copy signatureTimestamp from the account info as it is", f.SignatureTimestamp)
	}
	return nil
}

// parseToken reads a 200 response. Its errors may quote the response, so the
// caller redacts them.
func (f *IdentityFlow) parseToken(raw []byte) (Token, error) {
	var r identityResponseBody
	if err := json.Unmarshal(raw, &r); err != nil {
		return Token{}, fmt.Errorf("malformed response: %v", err)
	}
	n, err := checkTokenResponse(r.AccessToken, "accessToken", r.ExpiresIn, "expiresIn")
	if err != nil {
		return Token{}, err
	}
	// The API sends a Unix timestamp; a small value is read as a duration.
	expiry := expiryFrom(n, f.now())
	// The JWT's own exp is what the API enforces; trust whichever is sooner.
	if exp, ok := jwtExpiry(*r.AccessToken); ok && exp.Before(expiry) {
		expiry = exp
	}
	if r.RefreshToken == "" {
		warnMissingRefreshToken()
	}
	return Token{AccessToken: *r.AccessToken, RefreshToken: r.RefreshToken, Expiry: expiry}, nil
}

// missingRefreshToken makes warnMissingRefreshToken log once per process.
var missingRefreshToken sync.Once

// warnMissingRefreshToken notes a response without a refreshToken. The API
// lists it as required, yet such a response still carries a good access
// token, and acquiring anew with the client credentials, which Fresh does
// for a token without a refresh token, is the documented recovery; so it
// is tolerated rather than refused, and said once, since it would recur on
// every acquire.
func warnMissingRefreshToken() {
	missingRefreshToken.Do(func() {
		slog.Warn("the identity API answered without a refreshToken, which its specification requires; the token is used, and renewed by acquiring anew")
	})
}

// jwtExpiry returns the exp claim of a JWT without verifying its signature:
// Tokentray only needs to know when the server will stop accepting it.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > 1<<53 {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}
