package authtest

import (
	"bytes"
	"crypto/rand"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Paths the web grant server answers, as PROTOCOLS.md §2 names them.
const (
	WebTokenPath  = "/v1/oauth2/token"
	WebRevokePath = "/v1/oauth2/revoke"
)

// WebRequest is one request the web server received, kept for assertions.
type WebRequest struct {
	Path   string
	Header http.Header
	Raw    []byte     // the body as sent
	Form   url.Values // Raw decoded; nil when Raw is not a form
}

// WebServer is a fake Polar OAuth2 token and revocation endpoint. It
// issues opaque access tokens and rotating refresh tokens; presenting a
// spent refresh token is answered invalid_grant and revokes every token
// descended from the same acquire. Its errors are RFC 6749 §5.2 bodies. Its
// methods are safe for concurrent use.
type WebServer struct {
	// URL is the base URL to configure a flow with, http://127.0.0.1:port.
	URL string

	srv                    *httptest.Server
	clientID, clientSecret string
	faults                 faultQueue

	mu           sync.Mutex
	sessionToken string
	lifetime     time.Duration
	nullRefresh  bool
	now          func() time.Time
	requests     []WebRequest
	acquires     int
	refreshes    int
	revocations  int
	grants       ledger            // tokens are issued to a client ID
	scopes       map[string]string // family → granted scope
}

// NewWebServer starts a fake token endpoint that accepts the given client
// credentials and session token. Call Close when done.
func NewWebServer(clientID, clientSecret, sessionToken string) *WebServer {
	s := &WebServer{
		clientID:     clientID,
		clientSecret: clientSecret,
		sessionToken: sessionToken,
		lifetime:     time.Hour,
		now:          time.Now,
		grants:       newLedger(),
		scopes:       map[string]string{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight; a request
// held back by a Fault's Delay ends early.
func (s *WebServer) Close() { s.srv.Close() }

// SetLifetime sets how long issued access tokens live; the default is an
// hour.
func (s *WebServer) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetClock replaces the server's clock, which stamps and checks expiry.
func (s *WebServer) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetSessionToken replaces the session token the server accepts, as when a
// web session ends; grants issued before keep working.
func (s *WebServer) SetSessionToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionToken = token
}

// SetNullRefreshToken makes the server answer "refresh_token": null, as
// RFC 6749 allows, instead of issuing one.
func (s *WebServer) SetNullRefreshToken(null bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nullRefresh = null
}

// FailNext answers the next n requests with f instead of serving them. The
// requests are still recorded and counted. Calls queue up in order.
func (s *WebServer) FailNext(n int, f Fault) { s.faults.add(n, f) }

// Requests returns a copy of every request received, oldest first.
func (s *WebServer) Requests() []WebRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WebRequest, len(s.requests))
	for i, r := range s.requests {
		out[i] = WebRequest{Path: r.Path, Header: r.Header.Clone(), Raw: bytes.Clone(r.Raw), Form: cloneValues(r.Form)}
	}
	return out
}

// Acquires counts the token requests with grant_type=web, answered or not.
func (s *WebServer) Acquires() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acquires
}

// Refreshes counts the token requests with grant_type=refresh_token,
// answered or not.
func (s *WebServer) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Revocations counts the requests to the revocation endpoint, answered or
// not.
func (s *WebServer) Revocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revocations
}

// Reuses counts the requests that presented a spent refresh token: a
// client that persists rotated tokens correctly never makes one.
func (s *WebServer) Reuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants.reuses
}

// Accepts reports whether the API would honour accessToken now: issued by
// this server, not expired, and not revoked.
func (s *WebServer) Accepts(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants.accepts(accessToken, s.now())
}

func (s *WebServer) serve(w http.ResponseWriter, r *http.Request) {
	raw := readBody(r)
	rec := WebRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	form, formErr := url.ParseQuery(string(raw))
	if formErr == nil {
		rec.Form = form
	}

	s.mu.Lock()
	s.requests = append(s.requests, rec)
	switch {
	case r.URL.Path == WebRevokePath:
		s.revocations++
	case r.URL.Path == WebTokenPath && form.Get("grant_type") == "web":
		s.acquires++
	case r.URL.Path == WebTokenPath && form.Get("grant_type") == "refresh_token":
		s.refreshes++
	}
	s.mu.Unlock()

	if f, ok := s.faults.next(); ok {
		f.serve(w, r)
		return
	}
	if r.URL.Path != WebTokenPath && r.URL.Path != WebRevokePath {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if formErr != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	// RFC 6749 §3.2: no parameter twice, and an empty one counts as absent,
	// so a client that sends "sub=" or "sub=null" is caught here.
	for k, vs := range form {
		if len(vs) != 1 || vs[0] == "" || vs[0] == "null" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", k+" must be sent once, with a value")
			return
		}
	}
	if form.Get("client_id") != s.clientID || form.Get("client_secret") != s.clientSecret {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.URL.Path == WebRevokePath {
		s.revoke(w, form)
		return
	}
	switch form.Get("grant_type") {
	case "web":
		s.acquire(w, form)
	case "refresh_token":
		s.refresh(w, form)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be web or refresh_token")
	}
}

func (s *WebServer) acquire(w http.ResponseWriter, form url.Values) {
	switch form.Get("sub_type") {
	case "", "user", "organization":
	default:
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "sub_type must be user or organization")
		return
	}
	if sub := form.Get("sub"); sub != "" {
		if u, err := uuid.Parse(sub); err != nil || u.Version() != 4 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "sub must be a UUID4")
			return
		}
	}
	if form.Get("session_token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "session_token is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if form.Get("session_token") != s.sessionToken {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "invalid session token")
		return
	}
	family := uuid.NewString()
	s.scopes[family] = form.Get("scope")
	if s.scopes[family] == "" {
		s.scopes[family] = "openid"
	}
	s.issue(w, family)
}

func (s *WebServer) refresh(w http.ResponseWriter, form url.Values) {
	if form.Get("refresh_token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	family, ok, refusal := s.grants.redeem(form.Get("refresh_token"), s.clientID)
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", refusal)
		return
	}
	s.issue(w, family)
}

// issue mints a grant of family and answers with it. The caller holds s.mu.
func (s *WebServer) issue(w http.ResponseWriter, family string) {
	access := "polar_at_" + rand.Text()
	var refresh any // null unless issued
	rt := ""
	if !s.nullRefresh {
		rt = "polar_rt_" + rand.Text()
		refresh = rt
	}
	s.grants.issue(family, s.clientID, access, rt, s.now().Add(s.lifetime))
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    int64(s.lifetime / time.Second),
		"refresh_token": refresh,
		"scope":         s.scopes[family],
		"id_token":      "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhdXRodGVzdCJ9.",
	})
}

// revoke answers RFC 7009: the token's family is revoked, and a token the
// server does not know is answered 200 all the same.
func (s *WebServer) revoke(w http.ResponseWriter, form url.Values) {
	if form.Get("token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	switch form.Get("token_type_hint") {
	case "", "access_token", "refresh_token":
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_token_type", "token_type_hint must be access_token or refresh_token")
		return
	}
	s.mu.Lock()
	s.grants.revoke(form.Get("token"), s.clientID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := maps.Clone(v)
	for k, vs := range out {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
