// Package authtest provides fakes of Tokentray's token servers for tests, as
// net/http/httptest does for HTTP: they run on loopback, check requests the
// way the real APIs are documented to, and can be told to misbehave.
package authtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/tokentray/tokentray/auth"
)

// Paths the identity server answers, as PROTOCOLS.md §1 names them.
const (
	IdentityTokenPath   = "/identity/v3/token"
	IdentityRefreshPath = "/identity/v3/token/refresh"
)

// IdentityBody is a decoded identity request body.
type IdentityBody struct {
	ClientKey    string `json:"clientKey"`
	ClientSecret string `json:"clientSecret"`
	DeviceID     string `json:"deviceId"`
	DeviceInfo   string `json:"deviceInfo"`
	NetworkType  string `json:"networkType"`
	RefreshToken string `json:"refreshToken"`
	// Sent on refresh for signed-in accounts only.
	SignatureTimestamp string `json:"signatureTimestamp"`
	UID                string `json:"uid"`
	UIDSignature       string `json:"uidSignature"`
}

// IdentityRequest is one request the server received, kept for assertions.
type IdentityRequest struct {
	Path   string
	Header http.Header
	Raw    []byte       // the body as sent
	Body   IdentityBody // Raw decoded; zero when Raw is not JSON
}

// IdentityServer is a fake identity API v3. It issues JWT-shaped access
// tokens larger than 2 KB and rotating refresh tokens; presenting a spent
// refresh token is answered 401 and revokes every token descended from the
// same acquire, as token-theft detection in real servers does. Its methods
// are safe for concurrent use.
type IdentityServer struct {
	// URL is the base URL to configure a flow with, http://127.0.0.1:port.
	URL string

	srv                     *httptest.Server
	clientKey, clientSecret string
	signingKey              []byte

	faults faultQueue

	mu        sync.Mutex
	lifetime  time.Duration
	relative  bool
	now       func() time.Time
	requests  []IdentityRequest
	acquires  int
	refreshes int
	grants    ledger // refresh tokens are issued to a device ID
	delay     time.Duration
	answered  func(IdentityRequest, int)
}

// NewIdentityServer starts a fake identity API that accepts the given client
// credentials. Call Close when done.
func NewIdentityServer(clientKey, clientSecret string) *IdentityServer {
	s := &IdentityServer{
		clientKey:    clientKey,
		clientSecret: clientSecret,
		signingKey:   []byte(rand.Text()),
		lifetime:     time.Hour,
		now:          time.Now,
		grants:       newLedger(),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight; a request
// held back by a Fault's Delay ends early.
func (s *IdentityServer) Close() { s.srv.Close() }

// SetLifetime sets how long issued access tokens live; the default is an
// hour.
func (s *IdentityServer) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetRelativeExpiry makes expiresIn a duration in seconds instead of the
// absolute Unix timestamp the real API sends.
func (s *IdentityServer) SetRelativeExpiry(relative bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relative = relative
}

// SetClock replaces the server's clock, which stamps and checks expiry.
func (s *IdentityServer) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetDelay holds back every answer that is not a Fault by d before the
// request is checked and served, or until the client gives up: a slow but
// working server. Zero, the default, answers at once.
func (s *IdentityServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// OnAnswered sets a function called with every request that was served
// (not answered by a Fault) and the status of its answer, once that answer
// has been written and flushed to the client, before the handler returns.
// It runs on the request's goroutine, so an answer's effects on the server
// (a spent refresh token) have happened. nil removes it.
func (s *IdentityServer) OnAnswered(f func(req IdentityRequest, status int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered = f
}

// FailNext answers the next n requests with f instead of serving them. The
// requests are still recorded and counted. Calls queue up in order.
func (s *IdentityServer) FailNext(n int, f Fault) { s.faults.add(n, f) }

// Requests returns a copy of every request received, oldest first.
func (s *IdentityServer) Requests() []IdentityRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IdentityRequest, len(s.requests))
	for i, r := range s.requests {
		out[i] = IdentityRequest{Path: r.Path, Header: r.Header.Clone(), Raw: bytes.Clone(r.Raw), Body: r.Body}
	}
	return out
}

// Acquires counts the requests to the acquire endpoint, answered or not.
func (s *IdentityServer) Acquires() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acquires
}

// Refreshes counts the requests to the refresh endpoint, answered or not.
func (s *IdentityServer) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Reuses counts the requests that presented a spent refresh token: a
// client that persists rotated tokens correctly never makes one.
func (s *IdentityServer) Reuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants.reuses
}

// Accepts reports whether the API would honour accessToken now: issued by
// this server, not expired, and not revoked by refresh-token reuse.
func (s *IdentityServer) Accepts(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants.accepts(accessToken, s.now())
}

func (s *IdentityServer) serve(w http.ResponseWriter, r *http.Request) {
	raw := readBody(r)
	rec := IdentityRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &rec.Body)

	s.mu.Lock()
	s.requests = append(s.requests, rec)
	switch r.URL.Path {
	case IdentityTokenPath:
		s.acquires++
	case IdentityRefreshPath:
		s.refreshes++
	}
	delay, answered := s.delay, s.answered
	s.mu.Unlock()

	if f, ok := s.faults.next(); ok {
		f.serve(w, r)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if answered != nil {
		// Every return below has written an answer.
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			_ = http.NewResponseController(sw).Flush()
			answered(IdentityRequest{Path: rec.Path, Header: rec.Header.Clone(), Raw: bytes.Clone(rec.Raw), Body: rec.Body}, sw.status)
		}()
	}
	if r.URL.Path != IdentityTokenPath && r.URL.Path != IdentityRefreshPath {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such endpoint"})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use POST"})
		return
	}
	if msg := checkRequest(r, raw, r.URL.Path == IdentityRefreshPath); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": msg})
		return
	}
	status, body := s.issue(rec.Body, r.URL.Path == IdentityRefreshPath)
	writeJSON(w, status, body)
}

// checkRequest validates a request as the real API would, returning what is
// wrong or "".
func checkRequest(r *http.Request, raw []byte, refresh bool) string {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "Content-Type must be application/json"
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "body is not a JSON object"
	}
	required := []string{"clientKey", "clientSecret", "deviceId", "deviceInfo", "networkType"}
	if refresh {
		required = append(required, "refreshToken")
	}
	for _, k := range required {
		if v, ok := fields[k].(string); !ok || v == "" {
			return k + " is required"
		}
	}
	if _, err := uuid.Parse(fields["deviceId"].(string)); err != nil {
		return "deviceId is not a UUID"
	}
	if _, err := auth.DecodeDeviceInfo(fields["deviceInfo"].(string)); err != nil {
		return err.Error()
	}
	switch auth.NetworkType(fields["networkType"].(string)) {
	case auth.NetworkOther, auth.NetworkWifi, auth.NetworkEthernet, auth.NetworkCellular:
	default:
		return "networkType must be other, wifi, ethernet or cellular"
	}
	// A signed-in account's fields come together, on refresh only.
	signed := 0
	for _, k := range []string{"signatureTimestamp", "uid", "uidSignature"} {
		if _, ok := fields[k]; !ok {
			continue
		}
		if v, ok := fields[k].(string); !ok || v == "" {
			return k + " must be a non-empty string when sent"
		}
		signed++
	}
	switch {
	case signed > 0 && !refresh:
		return "signatureTimestamp, uid and uidSignature belong to refresh"
	case signed != 0 && signed != 3:
		return "signatureTimestamp, uid and uidSignature go together"
	case signed == 3:
		if _, err := strconv.ParseInt(fields["signatureTimestamp"].(string), 10, 64); err != nil {
			return "signatureTimestamp must be Unix seconds"
		}
	}
	return ""
}

// issue checks credentials and, for a refresh, the refresh token, then mints
// a grant.
func (s *IdentityServer) issue(b IdentityBody, refresh bool) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.ClientKey != s.clientKey || b.ClientSecret != s.clientSecret {
		return http.StatusUnauthorized, map[string]string{"message": "invalid client credentials"}
	}
	family := uuid.NewString()
	if refresh {
		f, ok, refusal := s.grants.redeem(b.RefreshToken, b.DeviceID)
		if !ok {
			return http.StatusUnauthorized, map[string]string{"message": refusal}
		}
		family = f
	}
	now := s.now()
	expiry := now.Add(s.lifetime)
	access := s.jwt(b.DeviceID, now, expiry)
	rt := uuid.NewString()
	s.grants.issue(family, b.DeviceID, access, rt, expiry)
	expiresIn := expiry.Unix()
	if s.relative {
		expiresIn = int64(s.lifetime / time.Second)
	}
	return http.StatusOK, map[string]any{"accessToken": access, "expiresIn": expiresIn, "refreshToken": rt}
}

// jwt mints an HS256 JWT with claims shaped like the real API's, whose plans
// and roles push it past 2 KB as real tokens are.
func (s *IdentityServer) jwt(deviceID string, now, expiry time.Time) string {
	plans := make([]map[string]any, 12)
	for i := range plans {
		plans[i] = map[string]any{
			"plan": fmt.Sprintf("PLAN_%02d", i), "status": "ACTIVE", "source": "NFL",
			"trial": false, "expirationDate": expiry.AddDate(1, 0, 0).Format("2006-01-02"),
		}
	}
	claims := map[string]any{
		"iss": "tokentray-authtest", "sub": deviceID, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": expiry.Unix(),
		"clientId": s.clientKey, "dmaCode": "501", "plans": plans,
		"roles":    []string{"free", "device", "anonymous", "guest", "viewer"},
		"location": map[string]any{"country": "US", "state": "NY", "zip": "10001", "latitude": 40.75, "longitude": -73.99},
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(claims)
	signed := header + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.signingKey)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// statusWriter remembers the status of the answer written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
