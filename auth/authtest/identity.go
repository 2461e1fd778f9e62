// Package authtest provides fakes of Tokentray's token servers for tests, as
// net/http/httptest does for HTTP: they run on loopback, check requests the
// way the real APIs are documented to, and can be told to misbehave. Both
// are built on one Core, so they share their knobs and counters.
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
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/tokentray/tokentray/auth"
)

// Paths the identity server answers, as docs/PROTOCOLS.md §1 names them.
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
	// A signed-in account's, on acquire and refresh alike.
	SignatureTimestamp string `json:"signatureTimestamp"`
	UID                string `json:"uid"`
	UIDSignature       string `json:"uidSignature"`
}

// SignedIn reports whether the body carries a signed-in account: all of
// signatureTimestamp, uid and uidSignature.
func (b IdentityBody) SignedIn() bool {
	return b.SignatureTimestamp != "" && b.UID != "" && b.UIDSignature != ""
}

// IdentityRequest is one request the server received, kept for assertions.
type IdentityRequest struct {
	Path   string
	Header http.Header
	Raw    []byte       // the body as sent
	Body   IdentityBody // Raw decoded; zero when Raw is not JSON
}

func (r IdentityRequest) clone() IdentityRequest {
	r.Header, r.Raw = r.Header.Clone(), bytes.Clone(r.Raw)
	return r
}

// IdentityServer is a fake identity API v3. It issues JWT-shaped access
// tokens larger than 2 KB, signed-in ones when the request carries an
// account, and by default rotating refresh tokens. Its methods, its Core's
// included, are safe for concurrent use.
type IdentityServer struct {
	*Core[IdentityRequest]

	clientKey, clientSecret string
	signingKey              []byte
	relative                bool // guarded by Core.mu
}

// NewIdentityServer starts a fake identity API that accepts the given client
// credentials. Call Close when done.
func NewIdentityServer(clientKey, clientSecret string) *IdentityServer {
	s := &IdentityServer{clientKey: clientKey, clientSecret: clientSecret, signingKey: []byte(rand.Text())}
	s.Core = newCore(RotatingRefreshTokens, s.record, s.answer)
	return s
}

// SetRelativeExpiry makes expiresIn a duration in seconds instead of the
// absolute Unix timestamp the real API sends.
func (s *IdentityServer) SetRelativeExpiry(relative bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relative = relative
}

// Account returns the uid of the signed-in account accessToken was issued
// to, or "" for an anonymous token or one this server did not issue.
func (s *IdentityServer) Account(accessToken string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants.access[accessToken].account
}

func (s *IdentityServer) record(r *http.Request, raw []byte) (IdentityRequest, kind) {
	rec := IdentityRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &rec.Body)
	switch r.URL.Path {
	case IdentityTokenPath:
		return rec, acquireRequest
	case IdentityRefreshPath:
		return rec, refreshRequest
	}
	return rec, otherRequest
}

func (s *IdentityServer) answer(w http.ResponseWriter, r *http.Request, rec IdentityRequest) {
	if r.URL.Path != IdentityTokenPath && r.URL.Path != IdentityRefreshPath {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such endpoint"})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use POST"})
		return
	}
	refresh := r.URL.Path == IdentityRefreshPath
	if msg := checkIdentityRequest(r, rec.Raw, refresh); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": msg})
		return
	}
	status, body := s.issueToken(rec.Body, refresh)
	writeJSON(w, status, body)
}

// checkIdentityRequest validates a request as the real API would,
// returning what is wrong or "".
func checkIdentityRequest(r *http.Request, raw []byte, refresh bool) string {
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
	// A signed-in account's fields come together, on acquire as on
	// refresh, as griddy's client sends them.
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
	case signed != 0 && signed != 3:
		return "signatureTimestamp, uid and uidSignature go together"
	case signed == 3:
		if _, err := strconv.ParseInt(fields["signatureTimestamp"].(string), 10, 64); err != nil {
			return "signatureTimestamp must be Unix seconds"
		}
	}
	return ""
}

// issueToken checks credentials and, for a refresh, the refresh token, then
// mints a grant: a signed-in one when the request carries an account.
func (s *IdentityServer) issueToken(b IdentityBody, refresh bool) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.ClientKey != s.clientKey || b.ClientSecret != s.clientSecret {
		return http.StatusUnauthorized, map[string]string{"message": "invalid client credentials"}
	}
	g := grant{family: uuid.NewString(), owner: b.DeviceID}
	if refresh {
		spent, ok, refusal := s.grants.redeem(b.RefreshToken, b.DeviceID)
		if !ok {
			return http.StatusUnauthorized, map[string]string{"message": refusal}
		}
		g.family = spent.family
	}
	if b.SignedIn() {
		g.account = b.UID
	}
	now := s.now()
	g.expiry = now.Add(s.lifetime)
	body := map[string]any{"expiresIn": g.expiry.Unix()}
	s.issue(body, "accessToken", "refreshToken", g, s.jwt(b.DeviceID, g.account, now, g.expiry), uuid.NewString)
	if s.relative {
		body["expiresIn"] = int64(s.lifetime / time.Second)
	}
	return http.StatusOK, body
}

// jwt mints an HS256 JWT with claims shaped like the real API's, whose plans
// and roles push it past 2 KB as real tokens are. account is the signed-in
// uid, "" for an anonymous device.
func (s *IdentityServer) jwt(deviceID, account string, now, expiry time.Time) string {
	plans := make([]map[string]any, 12)
	for i := range plans {
		plans[i] = map[string]any{
			"plan": fmt.Sprintf("PLAN_%02d", i), "status": "ACTIVE", "source": "NFL",
			"trial": false, "expirationDate": expiry.AddDate(1, 0, 0).Format("2006-01-02"),
		}
	}
	roles := []string{"free", "device", "anonymous", "guest", "viewer"}
	if account != "" {
		roles = []string{"free", "device", "registered", "subscriber", "viewer"}
	}
	claims := map[string]any{
		"iss": "tokentray-authtest", "sub": deviceID, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": expiry.Unix(), "uid": account,
		"clientId": s.clientKey, "dmaCode": "501", "plans": plans, "roles": roles,
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
