package authtest

import (
	"bytes"
	"crypto/rand"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Paths the web grant server answers, as docs/PROTOCOLS.md §2 names them.
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

func (r WebRequest) clone() WebRequest {
	r.Header, r.Raw, r.Form = r.Header.Clone(), bytes.Clone(r.Raw), cloneValues(r.Form)
	return r
}

// WebServer is a fake Polar OAuth2 token and revocation endpoint that by
// default answers as Polar does: the web grant is for first-party clients,
// which authenticate with client_secret_post; it issues opaque access
// tokens living an hour and no refresh token; sub and sub_type follow
// Polar's rules; revocation honours token_type_hint. SetRefreshTokens
// makes it a server that issues rotating refresh tokens. Its errors are
// RFC 6749 §5.2 bodies. Its methods, its Core's included, are safe for
// concurrent use.
type WebServer struct {
	*Core[WebRequest]

	clientID, clientSecret string

	// guarded by Core.mu
	sessionToken string
	thirdParty   bool
	scopes       map[string]string // family → granted scope
}

// NewWebServer starts a fake token endpoint that accepts the given client
// credentials and session token. Call Close when done.
func NewWebServer(clientID, clientSecret, sessionToken string) *WebServer {
	s := &WebServer{
		clientID:     clientID,
		clientSecret: clientSecret,
		sessionToken: sessionToken,
		scopes:       map[string]string{},
	}
	s.Core = newCore(NoRefreshToken, s.record, s.answer)
	return s
}

// SetSessionToken replaces the session token the server accepts, as when a
// web session ends; grants issued before keep working.
func (s *WebServer) SetSessionToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionToken = token
}

// SetThirdParty makes the client a self-registered one, which Polar
// refuses the web grant with unauthorized_client; refreshing and revoking
// still work.
func (s *WebServer) SetThirdParty(thirdParty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.thirdParty = thirdParty
}

func (s *WebServer) record(r *http.Request, raw []byte) (WebRequest, kind) {
	rec := WebRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	if form, err := url.ParseQuery(string(raw)); err == nil {
		rec.Form = form
	}
	switch {
	case r.URL.Path == WebRevokePath:
		return rec, revokeRequest
	case r.URL.Path == WebTokenPath && rec.Form.Get("grant_type") == "web":
		return rec, acquireRequest
	case r.URL.Path == WebTokenPath && rec.Form.Get("grant_type") == "refresh_token":
		return rec, refreshRequest
	}
	return rec, otherRequest
}

func (s *WebServer) answer(w http.ResponseWriter, r *http.Request, rec WebRequest) {
	form := rec.Form
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
	if form == nil {
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
	// The client is registered for client_secret_post: the credentials
	// come in the form, and any other method fails authentication.
	if _, _, basic := r.BasicAuth(); basic || form.Get("client_id") != s.clientID || form.Get("client_secret") != s.clientSecret {
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

// acquire checks a web grant request in the order Polar's grants/web.py
// does, with its error codes.
func (s *WebServer) acquire(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.thirdParty {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "The client is not authorized to use 'grant_type=web'")
		return
	}
	if !form.Has("session_token") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing 'session_token' in request.")
		return
	}
	subType, sub := form.Get("sub_type"), form.Get("sub")
	switch {
	case subType != "" && subType != "user" && subType != "organization":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid sub_type")
		return
	case subType == "organization" && !form.Has("sub"):
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing 'sub' for organization sub_type")
		return
	case subType != "organization" && form.Has("sub"):
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Can't specify 'sub' for user sub_type")
		return
	}
	if form.Get("session_token") != s.sessionToken {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "invalid session token")
		return
	}
	if sub != "" {
		u, err := uuid.Parse(sub)
		if err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid 'sub' UUID")
			return
		}
		// Polar's organization IDs are version 4: another UUID names no
		// organization the user manages.
		if u.Version() != 4 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "")
			return
		}
	}
	family := uuid.NewString()
	s.scopes[family] = form.Get("scope")
	if s.scopes[family] == "" {
		s.scopes[family] = "openid"
	}
	s.grant(w, family)
}

func (s *WebServer) refresh(w http.ResponseWriter, form url.Values) {
	if form.Get("refresh_token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	spent, ok, refusal := s.grants.redeem(form.Get("refresh_token"), s.clientID)
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", refusal)
		return
	}
	s.grant(w, spent.family)
}

// grant mints a grant of family and answers with it. The caller holds s.mu.
func (s *WebServer) grant(w http.ResponseWriter, family string) {
	g := grant{family: family, owner: s.clientID, expiry: s.now().Add(s.lifetime)}
	body := map[string]any{
		"token_type": "Bearer",
		"expires_in": int64(s.lifetime / time.Second),
		"scope":      s.scopes[family],
	}
	s.issue(body, "access_token", "refresh_token", g, "polar_at_"+rand.Text(), func() string { return "polar_rt_" + rand.Text() })
	writeJSON(w, http.StatusOK, body)
}

// revoke answers RFC 7009 as Polar's revocation endpoint does: the hint
// says where to look the token up, and a token the server does not know is
// answered 200 all the same.
func (s *WebServer) revoke(w http.ResponseWriter, form url.Values) {
	if form.Get("token") == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	hint := form.Get("token_type_hint")
	switch hint {
	case "", "access_token", "refresh_token":
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_token_type", "token_type_hint must be access_token or refresh_token")
		return
	}
	s.mu.Lock()
	s.grants.revoke(form.Get("token"), s.clientID, hint)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]string{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	writeJSON(w, status, body)
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
