package auth

import (
	"bytes"
	"context"
	"crypto/tls"
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
	"sync"
	"time"
	"unicode/utf8"
)

// What both flows share: one bounded POST that never follows a redirect,
// error reasons free of secrets, Retry-After, and the base URL rules.

// maxResponseBody bounds what a token response may weigh. Real responses are
// a few KB; a larger one is a misconfigured base URL or a hostile server.
const maxResponseBody = 1 << 20

// expiresInEpoch separates the two readings of an expiry field: a value this
// small (before September 2001) can only be a duration in seconds, a larger
// one only a Unix timestamp.
const expiresInEpoch = 1_000_000_000

// defaultClient bounds each request, so that a silent server cannot stall a
// refresh for ever, and speaks TLS 1.2 or newer only. It is made at the
// first request, not at start-up: every `tokentray` command links this
// package.
var defaultClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: newTransport()}
})

// newTransport is http.DefaultTransport's settings with TLS 1.2 as the
// floor, set here rather than left to Go's default, which GODEBUG can lower,
// and with the time a server may take to start answering bounded.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.ResponseHeaderTimeout = 20 * time.Second
	return t
}

// exchange is one request to a token endpoint.
type exchange struct {
	op          string // "acquire", "refresh" or "revoke"
	endpoint    string
	contentType string
	body        []byte
	red         redactor // the secrets body carries
	now         func() time.Time
	// action judges a non-200 answer; nil means StatusAction.
	action func(status int, body []byte) Action
	// explain, when set, may return a sentence of ours, put before the
	// server's reason for a non-200 answer, saying what its error code
	// means for the user.
	explain func(body []byte) string
}

// post sends x and returns the body of a 200 answer with its declared media
// type. Every other outcome is an *Error.
func post(ctx context.Context, client *http.Client, x exchange) (body []byte, mediaType string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.endpoint, bytes.NewReader(x.body))
	if err != nil {
		return nil, "", misconfigured(x.op, err)
	}
	req.Header.Set("Content-Type", x.contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)

	if client == nil {
		client = defaultClient()
	}
	c := *client
	// Following a redirect would resend the secrets to wherever it points.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		// The error names the URL, which CheckBaseURL keeps free of
		// credentials; the body with the secrets is not part of it.
		return nil, "", &Error{Op: x.op, Err: err}
	}
	defer resp.Body.Close()

	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if resp.StatusCode != http.StatusOK {
		e := &Error{Op: x.op, Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), x.now())}
		if x.action != nil {
			e.Action = x.action(resp.StatusCode, raw)
		} else {
			e.Action = StatusAction(x.op, resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			e.Reason = x.red.short("redirected to "+loc) + "; set the base URL to the final address"
		} else {
			e.Reason = errorReason(raw, resp.Header.Get("Content-Type"), x.red)
		}
		if x.explain != nil {
			if s := x.explain(raw); s != "" && e.Reason != "" {
				e.Reason = s + " (" + e.Reason + ")"
			} else if s != "" {
				e.Reason = s
			}
		}
		return nil, "", e
	}
	if readErr != nil {
		return nil, "", &Error{Op: x.op, Status: resp.StatusCode, Reason: "reading the response failed", Err: readErr}
	}
	if len(raw) > maxResponseBody {
		return nil, "", &Error{Op: x.op, Status: resp.StatusCode, Reason: "response larger than 1 MiB"}
	}
	mediaType, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return raw, mediaType, nil
}

// decodeToken parses the body of a 200 answer. Parse errors may quote the
// response, so they are redacted. A body that does not parse and is declared
// as something other than JSON (a captive portal's login page, a proxy's
// notice) is reported by its type, which says more than a JSON syntax error.
func decodeToken(x exchange, raw []byte, mediaType string, parse func([]byte) (Token, error)) (Token, error) {
	t, err := parse(raw)
	if err == nil {
		return t, nil
	}
	reason := err.Error()
	if mediaType != "" && !isJSON(mediaType) && !json.Valid(raw) {
		reason = "malformed response: " + mediaType + ", not JSON"
	}
	return Token{}, &Error{Op: x.op, Status: http.StatusOK, Reason: x.red.short(reason)}
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// misconfigured reports settings a request cannot be made with: retrying
// cannot help, the user must change them.
func misconfigured(op string, err error) error {
	return &Error{Op: op, Err: err, Action: NeedsUser}
}

// endpoint joins a base URL, checked by CheckBaseURL, and an endpoint path.
func endpoint(base, path string) (string, error) {
	if err := CheckBaseURL(base); err != nil {
		return "", err
	}
	u, _ := url.Parse(base) // CheckBaseURL parsed it already
	return u.JoinPath(path).String(), nil
}

// nowOr is now(), or time.Now when a flow has no clock of its own.
func nowOr(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// checkTokenResponse checks the two fields every token response needs, a
// non-empty access token and an expiry, and returns the expiry's number.
// The field names are the protocol's, for the errors.
func checkTokenResponse(accessToken *string, accessField string, expiresIn json.RawMessage, expiresField string) (int64, error) {
	if accessToken == nil || *accessToken == "" {
		return 0, fmt.Errorf("response has no %s", accessField)
	}
	return parseExpiresIn(expiresIn, expiresField)
}

// parseExpiresIn accepts a JSON number or a numeric string, since servers
// disagree on which to send; fractions of a second are dropped. field names
// the response field in errors.
func parseExpiresIn(raw json.RawMessage, field string) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, fmt.Errorf("response has no %s", field)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 || v > 1<<53 {
		return 0, fmt.Errorf("response has a %s that is not a positive number", field)
	}
	return int64(v), nil
}

// expiryFrom reads a positive expiry value either way a server may mean it:
// a Unix timestamp, or a duration in seconds from now.
func expiryFrom(n int64, now time.Time) time.Time {
	if n >= expiresInEpoch {
		return time.Unix(n, 0)
	}
	return now.Add(time.Duration(n) * time.Second)
}

// maxReasonLen bounds Error.Reason, in characters: enough for a sentence,
// short enough for a tray tooltip.
const maxReasonLen = 80

// The HTML patterns are compiled at the first HTML error body, not at
// start-up: every `tokentray` command links this package.
var (
	htmlDropped = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>|<!--.*?-->`)
	})
	htmlTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)<[^>]*>`) })
)

// errorReason distils an error body into one short, redacted line: the
// message of a JSON error, or the visible text of anything else.
func errorReason(body []byte, contentType string, red redactor) string {
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil {
		if r := jsonReason(fields); r != "" {
			return red.short(r)
		}
	}
	text := string(body)
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/html" || strings.HasPrefix(strings.TrimSpace(text), "<") {
		// Redact after unescaping, so that an echo escaped otherwise than
		// the redactor spells it is caught whole and not cut in part,
		// leaving a tail; and before stripping tags, which would take the
		// "<…>" out of a secret holding one.
		text = red.clean(html.UnescapeString(text))
		text = htmlDropped().ReplaceAllString(text, " ")
		text = htmlTag().ReplaceAllString(text, " ")
	}
	return red.short(text)
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

// redactor removes the secrets a request carried from text a server sent
// back (see Redactor).
type redactor struct{ r *Redactor }

func newRedactor(secrets ...string) redactor { return redactor{NewRedactor(secrets...)} }

// clean redacts s. Callers run it again after JSON decoding and HTML
// unescaping, so that an escaped echo of a secret is caught in its plain form.
func (r redactor) clean(s string) string { return r.r.Redact(s) }

// short makes s a Reason: redacted, on one line, at most maxReasonLen
// characters. It redacts again after collapsing white space, which can
// complete a secret ("a\tb" becomes "a b"), and before cutting, which
// could otherwise leave half a secret.
func (r redactor) short(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(r.clean(s), "?")), " ")
	s = r.clean(s)
	if utf8.RuneCountInString(s) <= maxReasonLen {
		return s
	}
	return string([]rune(s)[:maxReasonLen-1]) + "…"
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
		return errors.New("the base URL must not contain a user name or password; enter the client credentials in their own fields")
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
