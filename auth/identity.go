package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Paths of the identity API v3 endpoints, relative to the base URL.
const (
	identityTokenPath   = "identity/v3/token"
	identityRefreshPath = "identity/v3/token/refresh"
)

// maxResponseBody bounds what a token response may weigh. Real responses are
// a few KB; a larger one is a misconfigured base URL or a hostile server.
const maxResponseBody = 1 << 20

// expiresInEpoch separates the two readings of expiresIn: the API sends a
// Unix timestamp, but a value this small (before September 2001) can only be
// a duration in seconds.
const expiresInEpoch = 1_000_000_000

// defaultClient bounds each request, so that a silent server cannot stall a
// refresh for ever.
var defaultClient = &http.Client{Timeout: 30 * time.Second}

// IdentityFlow is the device token flow of the identity API v3 (see
// PROTOCOLS.md §1): client credentials plus a device description buy an
// access token and a rotating refresh token.
type IdentityFlow struct {
	BaseURL      string // e.g. https://api.nfl.com; see CheckBaseURL
	ClientKey    string
	ClientSecret string
	Device       Device
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
	ClientKey    string      `json:"clientKey"`
	ClientSecret string      `json:"clientSecret"`
	DeviceID     string      `json:"deviceId"`
	DeviceInfo   string      `json:"deviceInfo"`
	NetworkType  NetworkType `json:"networkType"`
	RefreshToken string      `json:"refreshToken,omitempty"`
}

type identityResponseBody struct {
	AccessToken  *string         `json:"accessToken"`
	ExpiresIn    json.RawMessage `json:"expiresIn"`
	RefreshToken string          `json:"refreshToken"`
}

func (f *IdentityFlow) request(ctx context.Context, op, path, refreshToken string) (Token, error) {
	// Settings the request cannot be made with need the user; anything
	// that goes wrong on the way is worth another try.
	misconfigured := func(err error) (Token, error) { return Token{}, &Error{Op: op, Err: err, Action: NeedsUser} }
	fail := func(err error) (Token, error) { return Token{}, &Error{Op: op, Err: err} }
	endpoint, err := f.endpoint(path)
	if err != nil {
		return misconfigured(err)
	}
	if err := f.checkConfig(); err != nil {
		return misconfigured(err)
	}
	payload := identityRequestBody{
		ClientKey:    f.ClientKey,
		ClientSecret: f.ClientSecret,
		DeviceID:     f.Device.ID,
		DeviceInfo:   f.Device.Info.Encode(),
		NetworkType:  f.Device.NetworkType(),
		RefreshToken: refreshToken,
	}
	body, _ := json.Marshal(payload) // strings only: cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return misconfigured(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)

	client := *f.client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL, which CheckBaseURL keeps free of
		// credentials; the body with the secrets is not part of it.
		return fail(err)
	}
	defer resp.Body.Close()

	red := newRedactor(f.ClientSecret, refreshToken)
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if resp.StatusCode != http.StatusOK {
		e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), f.now()), Action: StatusAction(op, resp.StatusCode)}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			e.Reason = "redirected to " + truncate(red.clean(loc)) + "; set the base URL to the final address"
		} else {
			e.Reason = errorReason(raw, resp.Header.Get("Content-Type"), red)
		}
		return Token{}, e
	}
	if readErr != nil {
		return Token{}, &Error{Op: op, Status: resp.StatusCode, Reason: "reading the response failed", Err: readErr}
	}
	if len(raw) > maxResponseBody {
		return Token{}, &Error{Op: op, Status: resp.StatusCode, Reason: "response larger than 1 MiB"}
	}
	t, err := f.parseToken(raw)
	if err != nil {
		return Token{}, &Error{Op: op, Status: resp.StatusCode, Reason: truncate(red.clean(err.Error()))}
	}
	return t, nil
}

func (f *IdentityFlow) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return defaultClient
}

func (f *IdentityFlow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *IdentityFlow) endpoint(path string) (string, error) {
	if err := CheckBaseURL(f.BaseURL); err != nil {
		return "", err
	}
	u, _ := url.Parse(f.BaseURL) // CheckBaseURL parsed it already
	return u.JoinPath(path).String(), nil
}

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
	return nil
}

// parseToken reads a 200 response. Its errors may quote the response, so the
// caller redacts them.
func (f *IdentityFlow) parseToken(raw []byte) (Token, error) {
	var r identityResponseBody
	if err := json.Unmarshal(raw, &r); err != nil {
		return Token{}, fmt.Errorf("malformed response: %v", err)
	}
	if r.AccessToken == nil || *r.AccessToken == "" {
		return Token{}, errors.New("response has no accessToken")
	}
	if len(r.ExpiresIn) == 0 || string(r.ExpiresIn) == "null" {
		return Token{}, errors.New("response has no expiresIn")
	}
	n, err := parseExpiresIn(r.ExpiresIn)
	if err != nil {
		return Token{}, err
	}
	var expiry time.Time
	if n >= expiresInEpoch {
		expiry = time.Unix(n, 0)
	} else {
		expiry = f.now().Add(time.Duration(n) * time.Second)
	}
	// The JWT's own exp is what the API enforces; trust whichever is sooner.
	if exp, ok := jwtExpiry(*r.AccessToken); ok && exp.Before(expiry) {
		expiry = exp
	}
	return Token{AccessToken: *r.AccessToken, RefreshToken: r.RefreshToken, Expiry: expiry}, nil
}

// parseExpiresIn accepts a JSON number or a numeric string, since servers
// disagree on which to send; fractions of a second are dropped.
func parseExpiresIn(raw json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 || v > 1<<53 {
		return 0, errors.New("response has an expiresIn that is not a positive number")
	}
	return int64(v), nil
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

// maxReasonLen bounds Error.Reason, in characters: enough for a sentence,
// short enough for a tray tooltip.
const maxReasonLen = 80

var (
	htmlDropped = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>|<!--.*?-->`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
)

// errorReason distils an error body into one short, redacted line: the
// message of a JSON error, or the visible text of anything else. Redaction
// comes before truncation, which could otherwise leave half a secret.
func errorReason(body []byte, contentType string, red redactor) string {
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		if r := jsonReason(fields); r != "" {
			return truncate(red.clean(r))
		}
	}
	// Redact before stripping tags too: a secret holding "<…>" would lose
	// that part to the stripping and no longer match.
	text := red.clean(string(body))
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/html" || strings.HasPrefix(strings.TrimSpace(text), "<") {
		text = htmlDropped.ReplaceAllString(text, " ")
		text = html.UnescapeString(htmlTag.ReplaceAllString(text, " "))
	}
	return truncate(red.clean(text))
}

// jsonReason picks the human part of the common error shapes: {"message"},
// RFC 6749's {"error","error_description"} and {"error":{"message"}}.
func jsonReason(fields map[string]any) string {
	str := func(k string) string { s, _ := fields[k].(string); return strings.TrimSpace(s) }
	if m := str("message"); m != "" {
		return m
	}
	code, desc := str("error"), str("error_description")
	switch {
	case code != "" && desc != "":
		return code + ": " + desc
	case desc != "":
		return desc
	case code != "":
		return code
	}
	if nested, ok := fields["error"].(map[string]any); ok {
		return jsonReason(nested)
	}
	return ""
}

// truncate collapses white space and cuts s to maxReasonLen characters.
func truncate(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	if utf8.RuneCountInString(s) <= maxReasonLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxReasonLen-1]) + "…"
}

// redactor removes the secrets a request carried from text a server sent
// back, in the spellings an echo is likely to use: raw, JSON-escaped,
// HTML-escaped and URL-encoded.
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets ...string) redactor {
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		js, _ := json.Marshal(s)
		for _, v := range []string{s, strings.Trim(string(js), `"`), html.EscapeString(s), url.QueryEscape(s), url.PathEscape(s)} {
			if !seen[v] {
				seen[v] = true
				pairs = append(pairs, v, "[redacted]")
			}
		}
	}
	return redactor{strings.NewReplacer(pairs...)}
}

// clean redacts s. Callers run it again after JSON decoding and HTML
// unescaping, so that an escaped echo of a secret is caught in its plain form.
func (r redactor) clean(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Anything else, or a date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(365*24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}

// CheckBaseURL reports whether raw can serve as a token endpoint's base URL:
// HTTPS, or plain HTTP to a loopback address for tests and local
// development, and no credentials in the URL itself. Its messages never
// quote a URL that carries user info.
func CheckBaseURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("the base URL is empty; enter one such as https://api.nfl.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error would quote raw, user info and all
		}
		return fmt.Errorf("the base URL is not a URL (%v); enter one such as https://api.nfl.com", err)
	}
	if u.User != nil {
		return errors.New("the base URL must not contain a user name or password; enter the client key and secret in their own fields")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("the base URL %q must start with https:// and name a host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("the base URL %q must not have a query or fragment; enter only scheme, host and path", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("the base URL %q uses plain http, which would send the secret unencrypted; use https:// (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
