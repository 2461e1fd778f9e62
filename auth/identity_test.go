package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
)

const (
	testKey    = "4cFUW6DmwJpzT9L7LrG3qRAcABG5s04g"
	testSecret = "CZuvCL49d9OwfGsR"
	testDevice = "3cfdef35-c7fe-4f2d-8630-1ec72f52b44d"
)

func newFlow(base string) *auth.IdentityFlow {
	return &auth.IdentityFlow{
		BaseURL:      base,
		ClientKey:    testKey,
		ClientSecret: testSecret,
		Device: auth.Device{
			ID:      testDevice,
			Info:    auth.DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "24.04"},
			Network: "ethernet",
		},
	}
}

func newServer(t *testing.T) *authtest.IdentityServer {
	t.Helper()
	s := authtest.NewIdentityServer(testKey, testSecret)
	t.Cleanup(s.Close)
	return s
}

// acquire returns flow's first token, ending the test if there is none.
func acquire(t *testing.T, flow auth.Flow) auth.Token {
	t.Helper()
	tok, err := flow.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// concurrently runs use n times at once and reports every error.
func concurrently(t *testing.T, n int, use func() error) {
	t.Helper()
	done := make(chan error)
	for range n {
		go func() { done <- use() }()
	}
	for range n {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// jsonKeys returns the keys of a JSON object in the order they appear.
func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestAcquireRequestShape(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	flow := newFlow(srv.URL + "/") // a trailing slash is tolerated
	for range 2 {
		if _, err := flow.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || srv.Acquires() != 2 || srv.Refreshes() != 0 {
		t.Fatalf("got %d requests, %d acquires, %d refreshes", len(reqs), srv.Acquires(), srv.Refreshes())
	}
	for _, r := range reqs {
		if r.Path != authtest.IdentityTokenPath {
			t.Errorf("path %s", r.Path)
		}
		for h, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "User-Agent": auth.UserAgent} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		want := []string{"clientKey", "clientSecret", "deviceId", "deviceInfo", "networkType"}
		if got := jsonKeys(t, r.Raw); !slices.Equal(got, want) {
			t.Errorf("body keys %v, want %v", got, want)
		}
		if r.Body.ClientKey != testKey || r.Body.ClientSecret != testSecret || r.Body.NetworkType != "ethernet" {
			t.Errorf("body %+v", r.Body)
		}
		info, err := base64.StdEncoding.DecodeString(r.Body.DeviceInfo)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonKeys(t, info); !slices.Equal(got, []string{"model", "version", "osName", "osVersion"}) {
			t.Errorf("deviceInfo keys %v", got)
		}
		if string(info) != `{"model":"desktop","version":"Chrome","osName":"Linux","osVersion":"24.04"}` {
			t.Errorf("deviceInfo %s", info)
		}
	}
	if reqs[0].Body.DeviceID != testDevice || reqs[1].Body.DeviceID != testDevice {
		t.Errorf("device IDs %q, %q; want %q both times", reqs[0].Body.DeviceID, reqs[1].Body.DeviceID, testDevice)
	}
}

func TestAcquireAndRefreshRotate(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	flow := newFlow(srv.URL)
	ctx := context.Background()
	first := acquire(t, flow)
	if len(first.AccessToken) <= 2048 || strings.Count(first.AccessToken, ".") != 2 {
		t.Errorf("access token is %d bytes, %d dots; want a JWT over 2 KB", len(first.AccessToken), strings.Count(first.AccessToken, "."))
	}
	if !srv.Accepts(first.AccessToken) || first.RefreshToken == "" {
		t.Fatalf("first grant %q… not accepted or without refresh token", first.AccessToken[:20])
	}
	second, err := flow.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || !srv.Accepts(second.AccessToken) {
		t.Error("refresh did not rotate to an accepted grant")
	}
	last := srv.Requests()[1]
	if last.Path != authtest.IdentityRefreshPath || last.Body.RefreshToken != first.RefreshToken {
		t.Errorf("refresh request %s with %q", last.Path, last.Body.RefreshToken)
	}
	want := []string{"clientKey", "clientSecret", "deviceId", "deviceInfo", "networkType", "refreshToken"}
	if got := jsonKeys(t, last.Raw); !slices.Equal(got, want) {
		t.Errorf("refresh body keys %v, want %v", got, want)
	}

	// Reusing a spent refresh token is rejected and revokes the family.
	_, err = flow.Refresh(ctx, first.RefreshToken)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Op != "refresh" || ae.Status != http.StatusUnauthorized || ae.Action != auth.Reacquire {
		t.Fatalf("reuse gave %v", err)
	}
	if srv.Accepts(second.AccessToken) {
		t.Error("reuse of a spent refresh token did not revoke its family")
	}
	if _, err := flow.Refresh(ctx, second.RefreshToken); err == nil {
		t.Error("a refresh token of a revoked family still works")
	}
	if _, err := flow.Refresh(ctx, ""); err == nil {
		t.Error("Refresh with no refresh token succeeded")
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	serverNow := time.Unix(1_758_000_000, 0)
	for _, tc := range []struct {
		name      string
		relative  bool
		clientNow time.Time
		want      time.Time
	}{
		{"absolute timestamp", false, serverNow.Add(-time.Hour), serverNow.Add(30 * time.Minute)},
		{"relative duration", true, serverNow.Add(-10 * time.Minute), serverNow.Add(20 * time.Minute)},
		// The client's clock runs ahead, so expiresIn would overshoot the
		// JWT's exp, which the server enforces.
		{"JWT exp earlier wins", true, serverNow.Add(10 * time.Minute), serverNow.Add(30 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.SetClock(func() time.Time { return serverNow })
			srv.SetLifetime(30 * time.Minute)
			srv.SetRelativeExpiry(tc.relative)
			flow := newFlow(srv.URL)
			flow.Now = func() time.Time { return tc.clientNow }
			tok := acquire(t, flow)
			if !tok.Expiry.Equal(tc.want) {
				t.Errorf("expiry %v, want %v", tok.Expiry, tc.want)
			}
		})
	}
}

// fakeJWT builds an unsigned JWT carrying claims.
func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(claims)) + ".sig"
}

// serveOnce starts a server that answers every request with status and body.
func serveOnce(t *testing.T, status int, header http.Header, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestResponseParsing(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name, body string
		want       expect
	}{
		{"unknown fields ignored", `{"accessToken":"opaque","expiresIn":3600,"refreshToken":"r","tokenType":"Bearer","extra":{"a":1}}`,
			expect{access: "opaque", refresh: "r", expiry: now.Add(time.Hour)}},
		{"JWT exp earlier than absolute expiresIn", `{"accessToken":"` + fakeJWT(`{"exp":1700000600}`) + `","expiresIn":1700003600}`,
			expect{expiry: time.Unix(1_700_000_600, 0)}},
		{"JWT exp later than expiresIn", `{"accessToken":"` + fakeJWT(`{"exp":1800000000}`) + `","expiresIn":1700003600}`,
			expect{expiry: time.Unix(1_700_003_600, 0)}},
		{"numeric string expiresIn", `{"accessToken":"a","expiresIn":"600"}`, expect{expiry: now.Add(10 * time.Minute)}},
		{"missing refresh token", `{"accessToken":"a","expiresIn":600}`, expect{refresh: "", expiry: now.Add(10 * time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flow := newFlow(serveOnce(t, 200, nil, tc.body))
			flow.Now = func() time.Time { return now }
			tok := acquire(t, flow)
			if tc.want.access != "" && tok.AccessToken != tc.want.access || tok.RefreshToken != tc.want.refresh && tc.want.refresh != "" || !tok.Expiry.Equal(tc.want.expiry) {
				t.Errorf("got %+v, want %+v", tok, tc.want)
			}
		})
	}
}

// expect is what a response should parse into; empty strings are not checked.
type expect struct {
	access, refresh string
	expiry          time.Time
}

func TestErrors(t *testing.T) {
	t.Parallel()
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	oversized := `{"accessToken":"` + strings.Repeat("a", 2<<20) + `","expiresIn":3600}`
	for _, tc := range []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantStatus int
		wantText   string
		action     auth.Action
		retryAfter time.Duration // -1: about an hour
	}{
		{"401 JSON", 401, nil, `{"message":"Invalid client credentials"}`, 401, "acquire: server answered 401 Unauthorized: Invalid client credentials", auth.NeedsUser, 0},
		{"403", 403, nil, `{"error":"access_denied"}`, 403, "access_denied", auth.NeedsUser, 0},
		{"404 HTML", 404, http.Header{"Content-Type": {"text/html"}}, "<html><body><h1>Not Found</h1></body></html>", 404, "404 Not Found: Not Found", auth.NeedsUser, 0},
		{"429 seconds", 429, http.Header{"Retry-After": {"30"}}, "slow down", 429, "slow down", auth.RetryLater, 30 * time.Second},
		{"429 date", 429, http.Header{"Retry-After": {retryDate}}, "", 429, "429 Too Many Requests", auth.RetryLater, -1},
		{"503", 503, http.Header{"Retry-After": {"5"}}, "<h1>Service Unavailable</h1>", 503, "Service Unavailable", auth.RetryLater, 5 * time.Second},
		{"malformed JSON", 200, nil, `{"accessToken":`, 200, "malformed response", auth.RetryLater, 0},
		{"not JSON", 200, nil, `<html>hello</html>`, 200, "malformed response", auth.RetryLater, 0},
		{"oversized", 200, nil, oversized, 200, "response larger than 1 MiB", auth.RetryLater, 0},
		{"missing accessToken", 200, nil, `{"expiresIn":3600}`, 200, "no accessToken", auth.RetryLater, 0},
		{"empty accessToken", 200, nil, `{"accessToken":"","expiresIn":3600}`, 200, "no accessToken", auth.RetryLater, 0},
		{"missing expiresIn", 200, nil, `{"accessToken":"tok-a"}`, 200, "no expiresIn", auth.RetryLater, 0},
		{"zero expiresIn", 200, nil, `{"accessToken":"tok-a","expiresIn":0}`, 200, "expiresIn", auth.RetryLater, 0},
		{"text expiresIn", 200, nil, `{"accessToken":"tok-a","expiresIn":"soon"}`, 200, "expiresIn", auth.RetryLater, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := newFlow(serveOnce(t, tc.status, tc.header, tc.body)).Acquire(context.Background())
			if tok != (auth.Token{}) {
				t.Errorf("token %+v with error", tok)
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
			}
			if ae.Op != "acquire" || ae.Status != tc.wantStatus || ae.Action != tc.action || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got %q (status %d, %v); want status %d, %v, text containing %q",
					err, ae.Status, ae.Action, tc.wantStatus, tc.action, tc.wantText)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error text is %d bytes long", len(err.Error()))
			}
			switch {
			case tc.retryAfter == -1 && (ae.RetryAfter < 59*time.Minute || ae.RetryAfter > time.Hour):
				t.Errorf("RetryAfter %v, want about an hour", ae.RetryAfter)
			case tc.retryAfter != -1 && ae.RetryAfter != tc.retryAfter:
				t.Errorf("RetryAfter %v, want %v", ae.RetryAfter, tc.retryAfter)
			}
		})
	}
}

func TestTransportFaults(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	t.Run("reset", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(1, authtest.Fault{Reset: true})
		tok, err := newFlow(srv.URL).Acquire(context.Background())
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Status != 0 || ae.Err == nil || tok != (auth.Token{}) {
			t.Fatalf("got %+v, %v", tok, err)
		}
		if _, err := newFlow(srv.URL).Acquire(context.Background()); err != nil {
			t.Errorf("the fault outlived its one request: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := newServer(t)
		srv.FailNext(1, authtest.Fault{Delay: time.Minute})
		flow := newFlow(srv.URL)
		flow.Client = &http.Client{Timeout: 100 * time.Millisecond}
		start := time.Now()
		_, err := flow.Acquire(context.Background())
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Status != 0 || time.Since(start) > 10*time.Second {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		srv := newServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := newFlow(srv.URL).Acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestServerValidatesRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	post := func(path, ctype, body string) (int, string) {
		resp, err := http.Post(srv.URL+path, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m struct{ Message string }
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m.Message
	}
	info := auth.DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "1"}.Encode()
	body := func(mod func(map[string]string)) string {
		m := map[string]string{"clientKey": testKey, "clientSecret": testSecret, "deviceId": testDevice, "deviceInfo": info, "networkType": "wifi"}
		mod(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		msg                     string
	}{
		{"ok", authtest.IdentityTokenPath, "application/json", body(func(map[string]string) {}), 200, ""},
		{"form", authtest.IdentityTokenPath, "application/x-www-form-urlencoded", body(func(map[string]string) {}), 400, "Content-Type"},
		{"missing field", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) { delete(m, "networkType") }), 400, "networkType is required"},
		{"bad uuid", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) { m["deviceId"] = "x" }), 400, "deviceId"},
		{"bad device info", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) {
			m["deviceInfo"] = base64.StdEncoding.EncodeToString([]byte(`{"model":"d"}`))
		}), 400, "lacks keys version, osName, osVersion"},
		{"bad network", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) { m["networkType"] = "lte" }), 400, "networkType"},
		{"wrong secret", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) { m["clientSecret"] = "nope" }), 401, "credentials"},
		{"refresh without token", authtest.IdentityRefreshPath, "application/json", body(func(map[string]string) {}), 400, "refreshToken is required"},
		{"signed-in acquire", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) {
			m["signatureTimestamp"], m["uid"], m["uidSignature"] = "1758732781", "u", "s"
		}), 200, ""},
		{"uid alone on acquire", authtest.IdentityTokenPath, "application/json", body(func(m map[string]string) { m["uid"] = "u" }), 400, "go together"},
		{"uid alone", authtest.IdentityRefreshPath, "application/json", body(func(m map[string]string) { m["refreshToken"], m["uid"] = "r", "u" }), 400, "go together"},
		{"bad signature timestamp", authtest.IdentityRefreshPath, "application/json", body(func(m map[string]string) {
			m["refreshToken"], m["signatureTimestamp"], m["uid"], m["uidSignature"] = "r", "yesterday", "u", "s"
		}), 400, "Unix seconds"},
		{"unknown refresh token", authtest.IdentityRefreshPath, "application/json", body(func(m map[string]string) { m["refreshToken"] = "nope" }), 401, "refresh token"},
	} {
		if status, msg := post(tc.path, tc.ctype, tc.body); status != tc.status || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
	}
}

// TestNoSecretInErrors answers with servers that echo the request back, in
// every way a careless server might, and checks that no error text carries
// a secret.
func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	const refresh = "640b00c7-33d8-44f2-ab46-e3d1284a4061"
	const secret = "s3cr<e>t&\"x/y+z"
	echoes := map[string]func(w http.ResponseWriter, body []byte){
		"text": func(w http.ResponseWriter, b []byte) {
			w.WriteHeader(400)
			w.Write(b)
		},
		"text, secret at the cut": func(w http.ResponseWriter, b []byte) {
			w.WriteHeader(400)
			var m map[string]string
			json.Unmarshal(b, &m)
			fmt.Fprintf(w, "%s%s %s", strings.Repeat("x", 70), m["clientSecret"], m["refreshToken"])
		},
		"json message": func(w http.ResponseWriter, b []byte) {
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(map[string]string{"message": "bad request " + string(b)})
		},
		"oauth description": func(w http.ResponseWriter, b []byte) {
			var m map[string]string
			json.Unmarshal(b, &m)
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": m["refreshToken"], "error_description": m["clientSecret"]})
		},
		"html": func(w http.ResponseWriter, b []byte) {
			var m map[string]string
			json.Unmarshal(b, &m)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			fmt.Fprintf(w, "<p>%s</p><p>%s</p>", strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(m["clientSecret"]), m["refreshToken"])
		},
		"redirect": func(w http.ResponseWriter, b []byte) {
			var m map[string]string
			json.Unmarshal(b, &m)
			w.Header().Set("Location", "https://elsewhere.example/?s="+m["clientSecret"]+"&r="+m["refreshToken"])
			w.WriteHeader(307)
		},
		"200 echo": func(w http.ResponseWriter, b []byte) {
			w.Write(b)
		},
		"200 bad expiry": func(w http.ResponseWriter, b []byte) {
			fmt.Fprintf(w, `{"accessToken":"at-secret-value","expiresIn":-1}`)
		},
	}
	for name, echo := range echoes {
		t.Run(name, func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				echo(w, b)
			}))
			defer s.Close()
			flow := newFlow(s.URL)
			flow.ClientSecret = secret
			_, err1 := flow.Acquire(context.Background())
			_, err2 := flow.Refresh(context.Background(), refresh)
			for _, err := range []error{err1, err2} {
				if err == nil {
					t.Fatal("no error")
				}
				text := err.Error()
				for _, leak := range []string{"s3cr", "x/y+z", refresh, refresh[:8], "at-secret-value"} {
					if strings.Contains(text, leak) {
						t.Errorf("error %q contains %q", text, leak)
					}
				}
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target := newServer(t)
	from := serveOnce(t, http.StatusPermanentRedirect, http.Header{"Location": {target.URL + authtest.IdentityTokenPath}}, "")
	_, err := newFlow(from).Acquire(context.Background())
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusPermanentRedirect || !strings.Contains(ae.Reason, "redirected to") {
		t.Errorf("got %v", err)
	}
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect was followed: target got %d requests", n)
	}
}

func TestConfigCheckedBeforeSending(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for _, tc := range []struct {
		name string
		mod  func(*auth.IdentityFlow)
		want string
	}{
		{"plain http", func(f *auth.IdentityFlow) { f.BaseURL = "http://api.example.com" }, "https://"},
		{"no key", func(f *auth.IdentityFlow) { f.ClientKey = "" }, "client key"},
		{"no secret", func(f *auth.IdentityFlow) { f.ClientSecret = "" }, "client secret"},
		{"bad device ID", func(f *auth.IdentityFlow) { f.Device.ID = "laptop" }, "not a UUID"},
		{"bad network", func(f *auth.IdentityFlow) { f.Device.Network = "lte" }, "network"},
		{"uid alone", func(f *auth.IdentityFlow) { f.UID = "uid-42" }, "set all three"},
		{"no uid signature", func(f *auth.IdentityFlow) { f.UID, f.SignatureTimestamp = "uid-42", "1758732781" }, "set all three"},
		{"timestamp not Unix seconds", func(f *auth.IdentityFlow) {
			f.UID, f.SignatureTimestamp, f.UIDSignature = "uid-42", "2025-09-24", "sig"
		}, "not Unix seconds"},
	} {
		flow := newFlow(srv.URL)
		tc.mod(flow)
		_, err := flow.Acquire(context.Background())
		var ae *auth.Error
		if !errors.As(err, &ae) || ae.Op != "acquire" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an *auth.Error containing %q", tc.name, err, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent with a bad configuration", n)
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want string // "" for valid
	}{
		{"https://api.nfl.com", ""},
		{"https://api.nfl.com/", ""},
		{"https://example.com:8443/prefix", ""},
		{"http://localhost:8080", ""},
		{"http://LOCALHOST", ""},
		{"http://127.0.0.1:9", ""},
		{"http://127.1.2.3", ""},
		{"http://[::1]:80/", ""},
		{"", "empty"},
		{"http://api.nfl.com", "use https://"},
		{"http://10.0.0.1", "use https://"},
		{"http://[::2]", "use https://"},
		{"http://localhost.evil.com", "use https://"},
		{"ftp://api.nfl.com", "must start with https://"},
		{"api.nfl.com", "must start with https://"},
		{"https://", "name a host"},
		{"https://api.nfl.com/?x=1", "query"},
		{"https://user:hunter2@api.nfl.com", "user name or password"},
		{"https://api.nfl.com/%zz", "not a URL"},
		{"http://user:hunter2@[::1", "not a URL"},
	} {
		err := auth.CheckBaseURL(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckBaseURL(%q) = %v, want nil", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckBaseURL(%q) = %v, want an error containing %q", tc.url, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("CheckBaseURL(%q) quotes the password: %v", tc.url, err)
		}
	}
}

func TestServerConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	flow := newFlow(srv.URL)
	concurrently(t, 8, func() error {
		tok, err := flow.Acquire(context.Background())
		if err == nil {
			_ = srv.Accepts(tok.AccessToken)
			_ = srv.Requests()
			_, err = flow.Refresh(context.Background(), tok.RefreshToken)
		}
		return err
	})
	if srv.Acquires() != 8 || srv.Refreshes() != 8 || len(srv.Requests()) != 16 {
		t.Errorf("acquires %d, refreshes %d, requests %d", srv.Acquires(), srv.Refreshes(), len(srv.Requests()))
	}
}

// TestSignedInAccount: a signed-in profile sends its account on acquire as
// on refresh, so that its first token, and every one acquired anew after a
// refused refresh, carries the account's entitlements.
func TestSignedInAccount(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	flow := newFlow(srv.URL)
	flow.SignatureTimestamp, flow.UID, flow.UIDSignature = "1758732781", "uid-42", "sig/+=secret"
	ctx := context.Background()
	tok := acquire(t, flow)
	refreshed, err := flow.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	for i, want := range [][]string{
		{"clientKey", "clientSecret", "deviceId", "deviceInfo", "networkType", "signatureTimestamp", "uid", "uidSignature"},
		{"clientKey", "clientSecret", "deviceId", "deviceInfo", "networkType", "refreshToken", "signatureTimestamp", "uid", "uidSignature"},
	} {
		if got := jsonKeys(t, reqs[i].Raw); !slices.Equal(got, want) {
			t.Errorf("%s body keys %v, want %v", reqs[i].Path, got, want)
		}
		if b := reqs[i].Body; b.SignatureTimestamp != "1758732781" || b.UID != "uid-42" || b.UIDSignature != "sig/+=secret" {
			t.Errorf("%s sent signatureTimestamp %q, uid %q and a %d-byte uidSignature", reqs[i].Path, b.SignatureTimestamp, b.UID, len(b.UIDSignature))
		}
	}
	for _, got := range []auth.Token{tok, refreshed} {
		if account := srv.Account(got.AccessToken); account != "uid-42" {
			t.Errorf("a token of account %q, want uid-42", account)
		}
	}

	// The signature is a secret: an echo of it is redacted.
	echo := serveOnce(t, 401, nil, "bad signature sig/+=secret for uid-42")
	flow.BaseURL = echo
	_, err = flow.Refresh(ctx, "640b00c7-33d8-44f2-ab46-e3d1284a4061")
	if err == nil || strings.Contains(err.Error(), "sig/+=secret") || !strings.Contains(err.Error(), "uid-42") {
		t.Errorf("got %v; want the signature redacted and the uid kept", err)
	}
	if auth.ActionOf(err) != auth.Reacquire {
		t.Errorf("a refused refresh: %v, want reacquire", auth.ActionOf(err))
	}
}

// TestAcquireWithoutRefreshToken: a response without the refreshToken the
// API lists as required is used, said once in the log, and renewed by
// acquiring anew.
func TestAcquireWithoutRefreshToken(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	auth.ResetMissingRefreshTokenWarning()

	srv := newServer(t)
	srv.SetRefreshTokens(authtest.NoRefreshToken)
	flow := newFlow(srv.URL)
	ctx := context.Background()
	for range 2 {
		tok, err := flow.Acquire(ctx)
		if err != nil || tok.RefreshToken != "" || !srv.Accepts(tok.AccessToken) {
			t.Fatalf("got refresh token %q, accepted %v, %v", tok.RefreshToken, srv.Accepts(tok.AccessToken), err)
		}
	}
	if n := strings.Count(logged.String(), "without a refreshToken"); n != 1 {
		t.Errorf("logged %d times, want once: %s", n, logged.String())
	}
	expired := auth.Token{AccessToken: "old", Expiry: time.Now().Add(-time.Minute)}
	if _, err := auth.Fresh(ctx, flow, newMemStore(map[string]auth.Token{"p": expired}), "p", time.Now(), auth.DefaultMargin); err != nil {
		t.Fatal(err)
	}
	if srv.Acquires() != 3 || srv.Refreshes() != 0 {
		t.Errorf("%d acquires, %d refreshes; want renewal by a third acquire", srv.Acquires(), srv.Refreshes())
	}
}

func TestRefreshRejectedMeansReacquire(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 403} {
		_, err := newFlow(serveOnce(t, status, nil, `{"message":"no"}`)).Refresh(context.Background(), "rt")
		if ae := authError(t, err); ae.Status != status || ae.Action != auth.Reacquire {
			t.Errorf("refresh %d: %v (%v), want reacquire", status, err, ae.Action)
		}
	}
	srv := newServer(t)
	if _, err := newFlow(srv.URL).Refresh(context.Background(), ""); auth.ActionOf(err) != auth.Reacquire || len(srv.Requests()) != 0 {
		t.Errorf("no refresh token: %v, %d requests", err, len(srv.Requests()))
	}
}

func TestIdentityServerCountsReuses(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	flow := newFlow(srv.URL)
	ctx := context.Background()
	tok := acquire(t, flow)
	if _, err := flow.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if srv.Reuses() != 0 {
		t.Fatalf("reuses %d after one proper refresh", srv.Reuses())
	}
	for range 2 {
		_, _ = flow.Refresh(ctx, tok.RefreshToken)
	}
	if _, _ = flow.Refresh(ctx, "never-issued"); srv.Reuses() != 2 {
		t.Errorf("reuses %d, want 2", srv.Reuses())
	}
}
