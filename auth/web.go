package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Paths of the Polar OAuth2 endpoints, relative to the base URL.
const (
	webTokenPath  = "v1/oauth2/token"
	webRevokePath = "v1/oauth2/revoke"
)

// The sub_type values the web grant knows.
const (
	SubTypeUser         = "user"
	SubTypeOrganization = "organization"
)

// Revoker is implemented by the flows whose protocol can revoke a grant, so
// that removing or testing a profile leaves no live token behind.
type Revoker interface {
	// Revoke revokes every token t holds: its refresh token, which takes
	// the grant with it, and its access token, which is all a grant
	// without a refresh token (Polar's web grant) has. Servers answer
	// success for a token they do not know too, so success means only
	// that the tokens no longer work.
	Revoke(ctx context.Context, t Token) error
}

// WebGrantFlow is the web grant of the Polar OAuth2 token endpoint (see
// docs/PROTOCOLS.md §2): a session token from the web app buys an access
// token. Polar issues no refresh token with it, so the token is kept fresh
// by acquiring anew; a server that does issue one gets it rotated by
// Refresh.
type WebGrantFlow struct {
	BaseURL      string // e.g. https://api.polar.sh; see CheckBaseURL
	ClientID     string
	ClientSecret string
	SessionToken string
	// SubType is SubTypeUser or SubTypeOrganization; "" leaves it to the
	// server, which assumes a user.
	SubType string
	// Sub is the ID (a version 4 UUID) of the organization the grant is
	// for: required with SubTypeOrganization, refused otherwise; see
	// CheckSub.
	Sub string
	// Scope is the space-separated scopes asked for; "" asks for the
	// client's default.
	Scope string
	// Client sends the requests; nil means a client with a 30 s timeout.
	// Redirects are never followed, whatever the client says.
	Client *http.Client
	// Now is the clock that turns expires_in into an expiry; nil means
	// time.Now.
	Now func() time.Time
}

var (
	_ Flow    = (*WebGrantFlow)(nil)
	_ Revoker = (*WebGrantFlow)(nil)
)

// Acquire obtains a new grant with the session token.
func (f *WebGrantFlow) Acquire(ctx context.Context) (Token, error) {
	const op = "acquire"
	if err := f.checkConfig(); err != nil {
		return Token{}, misconfigured(op, err)
	}
	form := f.credentials()
	form.Set("grant_type", "web")
	form.Set("session_token", f.SessionToken)
	// Optional fields are left out when empty: the server would reject
	// an empty sub or sub_type, and must never see the text "null".
	if f.SubType != "" {
		form.Set("sub_type", f.SubType)
	}
	if f.Sub != "" {
		form.Set("sub", f.Sub)
	}
	if f.Scope != "" {
		form.Set("scope", f.Scope)
	}
	return f.token(ctx, op, form, f.SessionToken)
}

// Refresh renews a grant. Refresh tokens rotate: the one passed is spent
// by this call, whatever its outcome, so the caller must persist the one
// returned before using the access token.
func (f *WebGrantFlow) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	const op = "refresh"
	if refreshToken == "" {
		return Token{}, &Error{Op: op, Reason: "no refresh token", Action: Reacquire}
	}
	if err := f.checkClient(); err != nil {
		return Token{}, misconfigured(op, err)
	}
	form := f.credentials()
	form.Set("grant_type", "refresh_token")
	form.Set("refresh_token", refreshToken)
	return f.token(ctx, op, form, refreshToken)
}

// Revoke revokes t's refresh token, then its access token (RFC 7009), each
// with its token_type_hint, and tries the second even when the first
// fails; it returns the first error. A token without either has nothing to
// revoke.
func (f *WebGrantFlow) Revoke(ctx context.Context, t Token) error {
	const op = "revoke"
	if t.RefreshToken == "" && t.AccessToken == "" {
		return nil
	}
	if err := f.checkClient(); err != nil {
		return misconfigured(op, err)
	}
	var first error
	for _, x := range []struct{ token, hint string }{
		{t.RefreshToken, "refresh_token"},
		{t.AccessToken, "access_token"},
	} {
		if x.token == "" {
			continue
		}
		if err := f.revoke(ctx, x.token, x.hint); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (f *WebGrantFlow) revoke(ctx context.Context, token, hint string) error {
	form := f.credentials()
	form.Set("token", token)
	form.Set("token_type_hint", hint)
	x, err := f.exchange("revoke", webRevokePath, form, token)
	if err != nil {
		return err
	}
	_, _, err = post(ctx, f.Client, x)
	return err
}

// credentials starts a form with the client credentials, which every
// request carries.
func (f *WebGrantFlow) credentials() url.Values {
	return url.Values{"client_id": {f.ClientID}, "client_secret": {f.ClientSecret}}
}

func (f *WebGrantFlow) token(ctx context.Context, op string, form url.Values, secret string) (Token, error) {
	x, err := f.exchange(op, webTokenPath, form, secret)
	if err != nil {
		return Token{}, err
	}
	raw, mediaType, err := post(ctx, f.Client, x)
	if err != nil {
		return Token{}, err
	}
	return decodeToken(x, raw, mediaType, f.parseToken)
}

// exchange prepares a form request. secret is the token the form carries
// besides the client secret, for redaction.
func (f *WebGrantFlow) exchange(op, path string, form url.Values, secret string) (exchange, error) {
	addr, err := endpoint(f.BaseURL, path)
	if err != nil {
		return exchange{}, misconfigured(op, err)
	}
	return exchange{
		op:          op,
		endpoint:    addr,
		contentType: "application/x-www-form-urlencoded",
		body:        []byte(form.Encode()),
		red:         newRedactor(f.ClientSecret, secret),
		now:         f.now,
		action:      func(status int, body []byte) Action { return oauthAction(op, status, body) },
		explain:     explainOAuthError(op),
	}, nil
}

func (f *WebGrantFlow) now() time.Time { return nowOr(f.Now) }

// checkClient catches what the server would answer with a terse
// invalid_client.
func (f *WebGrantFlow) checkClient() error {
	switch {
	case f.ClientID == "":
		return errors.New("the client ID is empty")
	case f.ClientSecret == "":
		return errors.New("the client secret is empty")
	}
	return nil
}

// checkConfig checks what Acquire needs, so that the person editing the
// profile learns which field is wrong rather than reading a 400.
func (f *WebGrantFlow) checkConfig() error {
	if err := f.checkClient(); err != nil {
		return err
	}
	if f.SessionToken == "" {
		return errors.New("the session token is empty")
	}
	return CheckSub(f.SubType, f.Sub)
}

type webResponseBody struct {
	AccessToken  *string         `json:"access_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken *string         `json:"refresh_token"`
	Scope        string          `json:"scope"`
}

// parseToken reads a 200 response (RFC 6749 §5.1). Its errors may quote the
// response, so the caller redacts them.
func (f *WebGrantFlow) parseToken(raw []byte) (Token, error) {
	var r webResponseBody
	if err := json.Unmarshal(raw, &r); err != nil {
		return Token{}, fmt.Errorf("malformed response: %v", err)
	}
	n, err := checkTokenResponse(r.AccessToken, "access_token", r.ExpiresIn, "expires_in")
	if err != nil {
		return Token{}, err
	}
	t := Token{AccessToken: *r.AccessToken, Expiry: expiryFrom(n, f.now()), Scope: r.Scope}
	// A null refresh token leaves the grant without one: the spent token
	// must not be kept, because presenting it again revokes the grant.
	if r.RefreshToken != nil {
		t.RefreshToken = *r.RefreshToken
	}
	return t, nil
}

// oauthAction judges an RFC 6749 §5.2 error answer by its error code where
// the code says more than the status.
func oauthAction(op string, status int, body []byte) Action {
	byStatus := StatusAction(op, status)
	if byStatus == RetryLater {
		return byStatus
	}
	switch oauthErrorCode(body) {
	case "invalid_client":
		return NeedsUser
	case "invalid_grant":
		if op == "refresh" {
			return Reacquire
		}
		// On acquire the grant is the session token: only the user
		// can supply a new one.
		return NeedsUser
	}
	return byStatus
}

// explainOAuthError returns what says, for op, what an error code means
// for the user, or nil.
func explainOAuthError(op string) func(body []byte) string {
	if op != "acquire" {
		return nil
	}
	return func(body []byte) string {
		// check_grant_type("web") at Polar: the grant is for the
		// clients of Polar's own apps, and the user cannot fix that
		// by retyping a secret.
		if oauthErrorCode(body) == "unauthorized_client" {
			return "this client is not allowed the web grant: Polar gives it only to its own first-party clients, not to OAuth clients that users register"
		}
		return ""
	}
}

// oauthErrorCode returns the error field of an RFC 6749 §5.2 body, or "".
func oauthErrorCode(body []byte) string {
	var e struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	code, _ := e.Error.(string)
	return code
}
