package authtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
)

// post sends a form to the web fake and decodes its JSON answer.
func post(t *testing.T, s *authtest.WebServer, path string, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(form.Get("client_id"), form.Get("client_secret"))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func webForm(kv ...string) url.Values {
	v := url.Values{"client_id": {"id"}, "client_secret": {"secret"}}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestWebServerAnswersAsPolar: by default the web fake answers the web
// grant as Polar does: an hour, no refresh token, no id_token.
func TestWebServerAnswersAsPolar(t *testing.T) {
	s := authtest.NewWebServer("id", "secret", "session")
	defer s.Close()
	status, body := post(t, s, authtest.WebTokenPath, webForm("grant_type", "web", "session_token", "session"), false)
	if status != 200 || body["expires_in"] != 3600.0 || body["token_type"] != "Bearer" {
		t.Fatalf("got %d, expires_in %v, token_type %v", status, body["expires_in"], body["token_type"])
	}
	for _, absent := range []string{"refresh_token", "id_token"} {
		if _, ok := body[absent]; ok {
			t.Errorf("the answer has %s", absent)
		}
	}
	if n := s.ValidAccessTokens(); n != 1 {
		t.Errorf("%d valid access tokens, want 1", n)
	}
}

func TestWebServerClientRules(t *testing.T) {
	s := authtest.NewWebServer("id", "secret", "session")
	defer s.Close()
	acquire := webForm("grant_type", "web", "session_token", "session")
	if status, body := post(t, s, authtest.WebTokenPath, acquire, true); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("client_secret_basic for a client_secret_post client: %d %v", status, body)
	}
	s.SetThirdParty(true)
	status, body := post(t, s, authtest.WebTokenPath, acquire, false)
	if status != 400 || body["error"] != "unauthorized_client" || !strings.Contains(body["error_description"].(string), "grant_type=web") {
		t.Errorf("a self-registered client's web grant: %d %v", status, body)
	}
	if s.ValidAccessTokens() != 0 {
		t.Error("a refused grant issued a token")
	}
}

// TestWebServerRevocationHints: the hint says where the token is looked
// up; an access token revoked alone takes only itself.
func TestWebServerRevocationHints(t *testing.T) {
	s := authtest.NewWebServer("id", "secret", "session")
	defer s.Close()
	s.SetRefreshTokens(authtest.RotatingRefreshTokens)
	_, tok := post(t, s, authtest.WebTokenPath, webForm("grant_type", "web", "session_token", "session"), false)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)

	// A refresh token looked up among access tokens is not found.
	if status, _ := post(t, s, authtest.WebRevokePath, webForm("token", refresh, "token_type_hint", "access_token"), false); status != 200 || !s.Accepts(access) {
		t.Fatalf("revoking a refresh token hinted as an access token: %d, access token accepted %v", status, s.Accepts(access))
	}
	if status, _ := post(t, s, authtest.WebRevokePath, webForm("token", access, "token_type_hint", "access_token"), false); status != 200 || s.Accepts(access) || s.ValidAccessTokens() != 0 {
		t.Fatalf("revoking the access token: %d, accepted %v, %d valid", status, s.Accepts(access), s.ValidAccessTokens())
	}
	// The refresh token was not revoked with it.
	status, renewed := post(t, s, authtest.WebTokenPath, webForm("grant_type", "refresh_token", "refresh_token", refresh), false)
	if status != 200 || !s.Accepts(renewed["access_token"].(string)) {
		t.Fatalf("refresh after revoking the access token alone: %d %v", status, renewed["error"])
	}
	post(t, s, authtest.WebRevokePath, webForm("token", renewed["refresh_token"].(string), "token_type_hint", "refresh_token"), false)
	if n := s.ValidAccessTokens(); n != 0 || s.Revocations() != 3 {
		t.Errorf("after revoking the refresh token: %d valid access tokens, %d revocations", n, s.Revocations())
	}
}

func TestWebServerNullRefreshToken(t *testing.T) {
	s := authtest.NewWebServer("id", "secret", "session")
	defer s.Close()
	s.SetRefreshTokens(authtest.NullRefreshToken)
	_, body := post(t, s, authtest.WebTokenPath, webForm("grant_type", "web", "session_token", "session"), false)
	if v, ok := body["refresh_token"]; !ok || v != nil {
		t.Errorf("refresh_token %v (present %v), want null", v, ok)
	}
}

func postIdentity(t *testing.T, s *authtest.IdentityServer, fields map[string]string) map[string]any {
	t.Helper()
	b := map[string]string{
		"clientKey": "key", "clientSecret": "secret", "deviceId": "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d",
		"deviceInfo": auth.DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "1"}.Encode(), "networkType": "other",
	}
	for k, v := range fields {
		b[k] = v
	}
	raw, _ := json.Marshal(b)
	resp, err := http.Post(s.URL+authtest.IdentityTokenPath, "application/json", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v (%v)", resp.StatusCode, body["message"], err)
	}
	return body
}

// TestIdentityServerSignedInAcquire: the fake takes an account on acquire
// and records it, in the request and in the token it issues.
func TestIdentityServerSignedInAcquire(t *testing.T) {
	s := authtest.NewIdentityServer("key", "secret")
	defer s.Close()
	anon := postIdentity(t, s, nil)
	signed := postIdentity(t, s, map[string]string{"signatureTimestamp": "1758732781", "uid": "u-1", "uidSignature": "sig"})
	reqs := s.Requests()
	if reqs[0].Body.SignedIn() || !reqs[1].Body.SignedIn() {
		t.Errorf("signed in: %v, %v; want false, true", reqs[0].Body.SignedIn(), reqs[1].Body.SignedIn())
	}
	if got := s.Account(anon["accessToken"].(string)); got != "" {
		t.Errorf("the anonymous token's account is %q", got)
	}
	if got := s.Account(signed["accessToken"].(string)); got != "u-1" {
		t.Errorf("the signed-in token's account is %q, want u-1", got)
	}
}

func TestIdentityServerWithoutRefreshToken(t *testing.T) {
	s := authtest.NewIdentityServer("key", "secret")
	defer s.Close()
	s.SetLifetime(10 * time.Minute)
	s.SetRefreshTokens(authtest.NoRefreshToken)
	body := postIdentity(t, s, nil)
	if _, ok := body["refreshToken"]; ok || !s.Accepts(body["accessToken"].(string)) {
		t.Errorf("refreshToken sent %v, access token accepted %v; want no refreshToken and an accepted access token", ok, s.Accepts(body["accessToken"].(string)))
	}
}
