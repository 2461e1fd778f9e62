package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
)

const (
	webClientID = "polar_ci_3sPp1YvB"
	webSecret   = "polar_cs_q7+Zr/9x&k=1"
	webSession  = "polar_st_Hn3k<9>F2w"
	webSub      = "9b3f8a2e-4c1d-4e7a-9f21-6a0d5c3b8e17" // version 4
)

func newWebFlow(base string) *auth.WebGrantFlow {
	return &auth.WebGrantFlow{BaseURL: base, ClientID: webClientID, ClientSecret: webSecret, SessionToken: webSession}
}

// newWebServer starts a fake that answers as Polar does: no refresh token.
func newWebServer(t *testing.T) *authtest.WebServer {
	t.Helper()
	s := authtest.NewWebServer(webClientID, webSecret, webSession)
	t.Cleanup(s.Close)
	return s
}

// newRotatingWebServer starts a fake of a server that, unlike Polar's web
// grant, issues rotating refresh tokens.
func newRotatingWebServer(t *testing.T) *authtest.WebServer {
	t.Helper()
	s := newWebServer(t)
	s.SetRefreshTokens(authtest.RotatingRefreshTokens)
	return s
}

// authError asserts that err is an *auth.Error and returns it.
func authError(t *testing.T, err error) *auth.Error {
	t.Helper()
	ae, ok := errors.AsType[*auth.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	return ae
}

func TestWebAcquireRequestShape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*auth.WebGrantFlow)
		want url.Values
	}{
		{"required only", func(*auth.WebGrantFlow) {}, url.Values{}},
		{"all optionals", func(f *auth.WebGrantFlow) {
			f.SubType, f.Sub, f.Scope = auth.SubTypeOrganization, webSub, "openid email"
		}, url.Values{"sub_type": {"organization"}, "sub": {webSub}, "scope": {"openid email"}}},
		{"user without sub", func(f *auth.WebGrantFlow) { f.SubType = auth.SubTypeUser }, url.Values{"sub_type": {"user"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newWebServer(t)
			flow := newWebFlow(srv.URL + "/") // a trailing slash is tolerated
			tc.mod(flow)
			if _, err := flow.Acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || srv.Acquires() != 1 || srv.Refreshes() != 0 {
				t.Fatalf("%d requests, %d acquires, %d refreshes", len(reqs), srv.Acquires(), srv.Refreshes())
			}
			r := reqs[0]
			if r.Path != authtest.WebTokenPath {
				t.Errorf("path %s", r.Path)
			}
			for h, want := range map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", "User-Agent": auth.UserAgent} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			want := url.Values{"grant_type": {"web"}, "client_id": {webClientID}, "client_secret": {webSecret}, "session_token": {webSession}}
			maps.Copy(want, tc.want)
			if !maps.EqualFunc(r.Form, want, slices.Equal) {
				t.Errorf("form %v, want %v", r.Form, want)
			}
			if strings.Contains(string(r.Raw), "null") {
				t.Errorf("body %s sends null", r.Raw)
			}
		})
	}
}

func TestWebSettingsCheckedBeforeSending(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	for _, tc := range []struct {
		name string
		mod  func(*auth.WebGrantFlow)
		want string
	}{
		{"UUID version 1", func(f *auth.WebGrantFlow) {
			f.SubType, f.Sub = auth.SubTypeOrganization, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
		}, "version 4 UUID"},
		{"junk sub", func(f *auth.WebGrantFlow) { f.SubType, f.Sub = auth.SubTypeOrganization, "acme" }, "version 4 UUID"},
		{"braced sub", func(f *auth.WebGrantFlow) { f.SubType, f.Sub = auth.SubTypeOrganization, "{"+webSub+"}" }, "version 4 UUID"},
		{"sub of another variant", func(f *auth.WebGrantFlow) {
			f.SubType, f.Sub = auth.SubTypeOrganization, "9b3f8a2e-4c1d-4e7a-cf21-6a0d5c3b8e17"
		}, "version 4 UUID"},
		{"sub type", func(f *auth.WebGrantFlow) { f.SubType = "team" }, "sub type"},
		{"sub without a sub type", func(f *auth.WebGrantFlow) { f.Sub = webSub }, "choose sub type organization"},
		{"sub for a user", func(f *auth.WebGrantFlow) { f.SubType, f.Sub = auth.SubTypeUser, webSub }, "leave the sub empty"},
		{"organization without sub", func(f *auth.WebGrantFlow) { f.SubType = auth.SubTypeOrganization }, "organization's id"},
		{"no session token", func(f *auth.WebGrantFlow) { f.SessionToken = "" }, "session token"},
		{"no client ID", func(f *auth.WebGrantFlow) { f.ClientID = "" }, "client ID"},
		{"no secret", func(f *auth.WebGrantFlow) { f.ClientSecret = "" }, "client secret"},
		{"plain http", func(f *auth.WebGrantFlow) { f.BaseURL = "http://api.polar.sh" }, "https://"},
	} {
		flow := newWebFlow(srv.URL)
		tc.mod(flow)
		_, err := flow.Acquire(context.Background())
		if ae := authError(t, err); ae.Op != "acquire" || ae.Action != auth.NeedsUser || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v (%v), want needs user and %q", tc.name, err, ae.Action, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent with bad settings", n)
	}
}

// TestCheckSub holds Polar's sub rules, each refusal saying what to
// change, and the canonical form of a version 4 UUID.
func TestCheckSub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subType, sub string
		want         string // in the error; "" for none
	}{
		{"", "", ""},
		{"user", "", ""},
		{"organization", webSub, ""},
		{"organization", strings.ToUpper(webSub), ""},
		{"", webSub, "choose sub type organization"},
		{"user", webSub, "leave the sub empty"},
		{"organization", "", "needs the organization's id"},
		{"team", "", "user or organization, not"},
		{"Organization", webSub, "user or organization, not"},
		{"organization", "urn:uuid:" + webSub, "version 4 UUID"},
		{"organization", strings.ReplaceAll(webSub, "-", ""), "version 4 UUID"},
		{"organization", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "version 4 UUID"},
		{"organization", "9b3f8a2e-4c1d-4e7a-cf21-6a0d5c3b8e17", "version 4 UUID"}, // Microsoft variant
	} {
		err := auth.CheckSub(tc.subType, tc.sub)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckSub(%q, %q) = %v, want %q", tc.subType, tc.sub, err, tc.want)
		}
	}
}

// TestWebExpiryAndScope reads an answer as Polar's web grant gives it: an
// hour, the scope granted, and no refresh token.
func TestWebExpiryAndScope(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	now := time.Date(2025, 9, 24, 12, 0, 0, 0, time.UTC)
	flow := newWebFlow(srv.URL)
	flow.Now = func() time.Time { return now }
	flow.Scope = "openid email"
	tok := acquire(t, flow)
	if !tok.Expiry.Equal(now.Add(time.Hour)) || tok.Scope != "openid email" || tok.RefreshToken != "" {
		t.Errorf("got %+v; want expiry %v, the scope and no refresh token", tok, now.Add(time.Hour))
	}
}

func TestWebNullRefreshToken(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	srv.SetRefreshTokens(authtest.NullRefreshToken)
	flow := newWebFlow(srv.URL)
	tok := acquire(t, flow)
	if tok.RefreshToken != "" || !srv.Accepts(tok.AccessToken) {
		t.Errorf("got refresh token %q, accepted %v", tok.RefreshToken, srv.Accepts(tok.AccessToken))
	}
	// With nothing to refresh with, Fresh acquires anew.
	st := newMemStore(map[string]auth.Token{"p": {AccessToken: tok.AccessToken, Expiry: time.Now().Add(-time.Second)}})
	if _, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin); err != nil {
		t.Fatal(err)
	}
	if srv.Acquires() != 2 || srv.Refreshes() != 0 {
		t.Errorf("acquires %d, refreshes %d", srv.Acquires(), srv.Refreshes())
	}
}

func TestWebRotationAndFamilyRevocation(t *testing.T) {
	t.Parallel()
	srv := newRotatingWebServer(t)
	flow := newWebFlow(srv.URL)
	ctx := context.Background()
	first := acquire(t, flow)
	second, err := flow.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || !srv.Accepts(second.AccessToken) {
		t.Fatal("refresh did not rotate to an accepted grant")
	}
	want := url.Values{"grant_type": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret}, "refresh_token": {first.RefreshToken}}
	if got := srv.Requests()[1].Form; !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("refresh form %v, want %v", got, want)
	}
	if srv.Reuses() != 0 {
		t.Errorf("reuses %d before any reuse", srv.Reuses())
	}

	// Reusing a spent refresh token is refused and revokes the family.
	_, err = flow.Refresh(ctx, first.RefreshToken)
	if ae := authError(t, err); ae.Status != http.StatusBadRequest || ae.Action != auth.Reacquire || !strings.Contains(ae.Reason, "invalid_grant") {
		t.Errorf("reuse gave %v (%v)", err, ae.Action)
	}
	if srv.Reuses() != 1 {
		t.Errorf("reuses %d, want 1", srv.Reuses())
	}
	if srv.Accepts(first.AccessToken) || srv.Accepts(second.AccessToken) {
		t.Error("reuse of a spent refresh token did not revoke the family's access tokens")
	}
	if _, err := flow.Refresh(ctx, second.RefreshToken); auth.ActionOf(err) != auth.Reacquire {
		t.Errorf("a refresh token of a revoked family: %v", err)
	}
	before := len(srv.Requests())
	if _, err := flow.Refresh(ctx, ""); auth.ActionOf(err) != auth.Reacquire || len(srv.Requests()) != before {
		t.Errorf("Refresh with no refresh token: %v, %d requests sent", err, len(srv.Requests())-before)
	}
}

func TestWebOAuthErrorActions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op     string
		status int
		code   string
		want   auth.Action
	}{
		{"refresh", 400, "invalid_grant", auth.Reacquire},
		{"acquire", 400, "invalid_grant", auth.NeedsUser},
		{"acquire", 401, "invalid_client", auth.NeedsUser},
		{"refresh", 401, "invalid_client", auth.NeedsUser},
		{"refresh", 400, "invalid_client", auth.NeedsUser},
		{"acquire", 400, "invalid_request", auth.NeedsUser},
		{"refresh", 400, "invalid_request", auth.Reacquire},
		{"acquire", 400, "unauthorized_client", auth.NeedsUser},
		{"acquire", 400, "unsupported_grant_type", auth.NeedsUser},
		{"acquire", 400, "invalid_scope", auth.NeedsUser},
		{"refresh", 400, "invalid_scope", auth.Reacquire},
		{"refresh", 400, "", auth.Reacquire},
		{"acquire", 404, "invalid_grant", auth.NeedsUser},
		// The status says retry, whatever the body claims.
		{"refresh", 503, "invalid_grant", auth.RetryLater},
		{"acquire", 429, "invalid_client", auth.RetryLater},
	} {
		name := fmt.Sprintf("%s %d %s", tc.op, tc.status, tc.code)
		body := fmt.Sprintf(`{"error":%q,"error_description":"told so"}`, tc.code)
		flow := newWebFlow(serveOnce(t, tc.status, http.Header{"Content-Type": {"application/json"}}, body))
		var err error
		if tc.op == "acquire" {
			_, err = flow.Acquire(context.Background())
		} else {
			_, err = flow.Refresh(context.Background(), "polar_rt_x")
		}
		ae := authError(t, err)
		wantReason := tc.code + ": told so"
		switch {
		case tc.code == "":
			wantReason = "told so"
		case tc.code == "unauthorized_client" && tc.op == "acquire":
			wantReason = "this client is not allowed the web grant: Polar gives it only to its own first-party clients, not to OAuth clients that users register (unauthorized_client: told so)"
		}
		if ae.Op != tc.op || ae.Status != tc.status || ae.Action != tc.want || ae.Reason != wantReason {
			t.Errorf("%s: got %v (op %s, %v); want %v and reason %q", name, err, ae.Op, ae.Action, tc.want, wantReason)
		}
	}
}

// TestWebUnauthorizedClient: a client Polar does not allow the web grant
// is told so in words, and retrying cannot help.
func TestWebUnauthorizedClient(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	srv.SetThirdParty(true)
	_, err := newWebFlow(srv.URL).Acquire(context.Background())
	ae := authError(t, err)
	if ae.Status != 400 || ae.Action != auth.NeedsUser ||
		!strings.HasPrefix(ae.Reason, "this client is not allowed the web grant: ") || !strings.Contains(ae.Reason, "first-party") {
		t.Errorf("got %v (%v); want needs user, saying the web grant is for Polar's first-party clients", err, ae.Action)
	}
}

func TestWebServerErrors(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	ctx := context.Background()

	flow := newWebFlow(srv.URL)
	flow.ClientSecret = "wrong"
	_, err := flow.Acquire(ctx)
	if ae := authError(t, err); ae.Status != 401 || ae.Action != auth.NeedsUser || !strings.Contains(ae.Reason, "invalid_client") {
		t.Errorf("bad client: %v", err)
	}
	_, err = flow.Refresh(ctx, "polar_rt_x")
	if ae := authError(t, err); ae.Status != 401 || ae.Action != auth.NeedsUser {
		t.Errorf("bad client on refresh: %v", err)
	}

	flow = newWebFlow(srv.URL)
	flow.SessionToken = "polar_st_expired"
	_, err = flow.Acquire(ctx)
	if ae := authError(t, err); ae.Status != 400 || ae.Action != auth.NeedsUser || !strings.Contains(ae.Reason, "invalid_grant") {
		t.Errorf("bad session token: %v", err)
	}
}

func TestWebRetryAfter(t *testing.T) {
	t.Parallel()
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name     string
		status   int
		header   string
		min, max time.Duration
	}{
		{"429 seconds", 429, "30", 30 * time.Second, 30 * time.Second},
		{"429 date", 429, retryDate, 59 * time.Minute, time.Hour},
		{"503 seconds", 503, "5", 5 * time.Second, 5 * time.Second},
		{"502 without", 502, "", 0, 0},
	} {
		srv := newWebServer(t)
		srv.FailNext(1, authtest.Fault{Status: tc.status, Header: http.Header{"Retry-After": {tc.header}}, Body: []byte("<h1>busy</h1>")})
		_, err := newWebFlow(srv.URL).Acquire(context.Background())
		ae := authError(t, err)
		if ae.Status != tc.status || ae.Action != auth.RetryLater || ae.RetryAfter < tc.min || ae.RetryAfter > tc.max || ae.Reason != "busy" {
			t.Errorf("%s: got %v, retry after %v (%v); want %v to %v", tc.name, err, ae.RetryAfter, ae.Action, tc.min, tc.max)
		}
	}
}

func TestWebFaults(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	tokenJSON := []byte(`{"access_token":"polar_at_a","token_type":"Bearer","expires_in":600,"refresh_token":null}`)
	for _, tc := range []struct {
		name    string
		fault   authtest.Fault
		timeout time.Duration
		status  int    // of the error; -1 when the request succeeds
		want    string // in the error text
	}{
		{"timeout", authtest.Fault{Delay: time.Minute}, 200 * time.Millisecond, 0, "Timeout"},
		{"reset", authtest.Fault{Reset: true}, 0, 0, "acquire:"},
		{"malformed JSON", authtest.Fault{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"access_token":`)}, 0, 200, "malformed response"},
		{"64 MiB", authtest.Fault{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"access_token":"`), Filler: 64 << 20}, 0, 200, "larger than 1 MiB"},
		{"64 MiB error", authtest.Fault{Status: 500, Body: []byte("oops "), Filler: 64 << 20}, 0, 500, "oops xxx"},
		{"HTML login page", authtest.Fault{Status: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte("<html><body>Sign in to the Wi-Fi</body></html>")}, 0, 200, "text/html, not JSON"},
		{"JSON labelled text", authtest.Fault{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: tokenJSON}, 0, -1, ""},
		{"no access_token", authtest.Fault{Status: 200, Body: []byte(`{"expires_in":600}`)}, 0, 200, "no access_token"},
		{"null expires_in", authtest.Fault{Status: 200, Body: []byte(`{"access_token":"a","expires_in":null}`)}, 0, 200, "no expires_in"},
		{"negative expires_in", authtest.Fault{Status: 200, Body: []byte(`{"access_token":"a","expires_in":-5}`)}, 0, 200, "expires_in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newWebServer(t)
			srv.FailNext(1, tc.fault)
			flow := newWebFlow(srv.URL)
			if tc.timeout > 0 {
				flow.Client = &http.Client{Timeout: tc.timeout}
			}
			start := time.Now()
			tok, err := flow.Acquire(context.Background())
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if tc.status == -1 {
				if err != nil || tok.AccessToken != "polar_at_a" {
					t.Fatalf("got %+v, %v", tok, err)
				}
				return
			}
			ae := authError(t, err)
			if tok != (auth.Token{}) || ae.Status != tc.status || ae.Action != auth.RetryLater || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %+v, %q (status %d, %v); want status %d, retry later, %q", tok, err, ae.Status, ae.Action, tc.status, tc.want)
			}
			if tc.status == 0 && ae.Err == nil {
				t.Error("a transport failure without its cause")
			}
			if _, err := flow.Acquire(context.Background()); err != nil {
				t.Errorf("the fault outlived its one request: %v", err)
			}
		})
	}
}

// TestWebNoSecretInErrors answers with servers that echo the request back,
// and checks that no error text carries a secret.
func TestWebNoSecretInErrors(t *testing.T) {
	t.Parallel()
	const refresh = "polar_rt_Zx9<&>q+/="
	echo := func(w http.ResponseWriter, r *http.Request, form url.Values, raw []byte, status int) {
		switch r.URL.Query().Get("as") {
		case "raw":
			w.WriteHeader(status)
			w.Write(raw)
		case "oauth":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, form.Get("client_secret"), form.Get("session_token")+" "+form.Get("refresh_token")+" "+form.Get("token"))
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<p>%s %s</p>", strings.NewReplacer("<", "&lt;", "&", "&amp;").Replace(form.Get("session_token")), url.QueryEscape(form.Get("client_secret")))
		case "cut":
			w.WriteHeader(status)
			fmt.Fprintf(w, "%s%s", strings.Repeat("x", 70), form.Get("client_secret")+form.Get("refresh_token")+form.Get("token"))
		}
	}
	for _, as := range []string{"raw", "oauth", "html", "cut"} {
		for _, status := range []int{200, 400, 401, 500} {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(raw))
				echo(w, r, form, raw, status)
			}))
			// CheckBaseURL forbids a query in the base URL, so a transport
			// tells the server how to echo.
			flow := newWebFlow(s.URL)
			flow.Client = &http.Client{Transport: queryAdder{"as=" + as}}
			ctx := context.Background()
			_, err1 := flow.Acquire(ctx)
			_, err2 := flow.Refresh(ctx, refresh)
			err3 := flow.Revoke(ctx, auth.Token{AccessToken: refresh, RefreshToken: refresh})
			for _, err := range []error{err1, err2, err3} {
				if err == nil {
					if status == 200 {
						continue // a revoke may well succeed
					}
					t.Fatalf("%s %d: no error", as, status)
				}
				for _, leak := range []string{webSecret, "q7+Zr", webSession, "Hn3k", refresh, "Zx9"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("%s %d: error %q contains %q", as, status, err, leak)
					}
				}
			}
			s.Close()
		}
	}
}

// queryAdder adds a query to every request, to tell an echo server how to
// answer.
type queryAdder struct{ query string }

func (q queryAdder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.query
	return http.DefaultTransport.RoundTrip(r)
}

// TestWebRevokeAccessToken: against Polar, whose web grant has no refresh
// token, revoking revokes the access token, so that removing a profile
// leaves nothing valid at the server.
func TestWebRevokeAccessToken(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	flow := newWebFlow(srv.URL)
	ctx := context.Background()
	tok := acquire(t, flow)
	var r auth.Revoker = flow
	if err := r.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	want := url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {webClientID}, "client_secret": {webSecret}}
	if len(reqs) != 2 || reqs[1].Path != authtest.WebRevokePath || !maps.EqualFunc(reqs[1].Form, want, slices.Equal) {
		t.Errorf("%d requests, the last to %s with the hint %q; want the acquire and a revocation of the access token",
			len(reqs), reqs[len(reqs)-1].Path, reqs[len(reqs)-1].Form.Get("token_type_hint"))
	}
	if n := srv.ValidAccessTokens(); n != 0 || srv.Accepts(tok.AccessToken) {
		t.Errorf("%d access tokens valid after the revocation", n)
	}
}

// TestWebRevokeBoth: a grant with a refresh token loses both, the refresh
// token first, since it takes the grant with it.
func TestWebRevokeBoth(t *testing.T) {
	t.Parallel()
	srv := newRotatingWebServer(t)
	flow := newWebFlow(srv.URL)
	ctx := context.Background()
	tok := acquire(t, flow)
	if err := flow.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || srv.Revocations() != 2 {
		t.Fatalf("%d requests, %d revocations; want the acquire and two revocations", len(reqs), srv.Revocations())
	}
	for i, want := range []url.Values{
		{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {webClientID}, "client_secret": {webSecret}},
		{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}, "client_id": {webClientID}, "client_secret": {webSecret}},
	} {
		if got := reqs[i+1]; got.Path != authtest.WebRevokePath || !maps.EqualFunc(got.Form, want, slices.Equal) {
			t.Errorf("revocation %d: to %s with the hint %q; want the %s", i+1, got.Path, got.Form.Get("token_type_hint"), want.Get("token_type_hint"))
		}
	}
	if srv.ValidAccessTokens() != 0 {
		t.Error("an access token outlived the revocation of its grant")
	}
	if _, err := flow.Refresh(ctx, tok.RefreshToken); auth.ActionOf(err) != auth.Reacquire {
		t.Errorf("refresh after revoke: %v", err)
	}
}

func TestWebRevokeErrors(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	flow := newWebFlow(srv.URL)
	ctx := context.Background()
	// RFC 7009 §2.2: a token the server does not know is no error.
	if err := flow.Revoke(ctx, auth.Token{AccessToken: "polar_at_unknown", RefreshToken: "polar_rt_unknown"}); err != nil {
		t.Errorf("revoking unknown tokens: %v", err)
	}
	if err := flow.Revoke(ctx, auth.Token{}); err != nil || srv.Revocations() != 2 {
		t.Errorf("revoking nothing: %v, %d revocations", err, srv.Revocations())
	}

	// The first failure is reported, and the access token is revoked
	// all the same.
	tok := acquire(t, flow)
	tok.RefreshToken = "polar_rt_y"
	srv.FailNext(1, authtest.Fault{Status: 503, Header: http.Header{"Retry-After": {"9"}}})
	err := flow.Revoke(ctx, tok)
	if ae := authError(t, err); ae.Op != "revoke" || ae.Action != auth.RetryLater || ae.RetryAfter != 9*time.Second {
		t.Errorf("revoke 503: %v", err)
	}
	if srv.Accepts(tok.AccessToken) {
		t.Error("a failed refresh token revocation kept the access token from being revoked")
	}
	flow.ClientSecret = "wrong"
	err = flow.Revoke(ctx, auth.Token{AccessToken: "polar_at_y"})
	if ae := authError(t, err); ae.Status != 401 || ae.Action != auth.NeedsUser || strings.Contains(err.Error(), "polar_at_y") {
		t.Errorf("revoke with a bad client: %v", err)
	}
}

func TestFreshWebReacquiresOnInvalidGrant(t *testing.T) {
	t.Parallel()
	srv := newRotatingWebServer(t)
	flow := newWebFlow(srv.URL)
	ctx := context.Background()
	first := acquire(t, flow)
	if _, err := flow.Refresh(ctx, first.RefreshToken); err != nil {
		t.Fatal(err)
	}
	// The store still holds the spent token, as after a crash between
	// refresh and save: the server answers invalid_grant.
	expired := first
	expired.Expiry = time.Now().Add(-time.Minute)
	st := newMemStore(map[string]auth.Token{"p": expired})
	got, err := auth.Fresh(ctx, flow, st, "p", time.Now(), auth.DefaultMargin)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Acquires() != 2 || srv.Refreshes() != 2 || !srv.Accepts(got.AccessToken) || st.get("p") != got {
		t.Errorf("acquires %d, refreshes %d, accepted %v", srv.Acquires(), srv.Refreshes(), srv.Accepts(got.AccessToken))
	}
	if last := srv.Requests()[3].Form; last.Get("grant_type") != "web" || last.Get("session_token") != webSession {
		t.Errorf("re-acquired with %v", last)
	}

	// When the session token is refused too, only the user can help.
	srv.SetSessionToken("polar_st_new")
	st.put("p", expired)
	_, err = auth.Fresh(ctx, flow, st, "p", time.Now(), auth.DefaultMargin)
	if auth.ActionOf(err) != auth.NeedsUser || st.get("p") != expired {
		t.Errorf("got %v (%v); want needs user and the stored token kept", err, auth.ActionOf(err))
	}
}

func TestWebServerValidatesRequests(t *testing.T) {
	t.Parallel()
	srv := newWebServer(t)
	form := func(kv ...string) string {
		v := url.Values{"client_id": {webClientID}, "client_secret": {webSecret}}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		code                    string
	}{
		{"ok", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession), 200, ""},
		{"json", authtest.WebTokenPath, "application/json", `{"grant_type":"web"}`, 400, "invalid_request"},
		{"unknown grant", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "password"), 400, "unsupported_grant_type"},
		{"no grant", authtest.WebTokenPath, "application/x-www-form-urlencoded", form(), 400, "invalid_request"},
		{"bad client", authtest.WebTokenPath, "application/x-www-form-urlencoded", "grant_type=web&client_id=x&client_secret=y&session_token=z", 401, "invalid_client"},
		{"bad session", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", "nope"), 400, "invalid_grant"},
		{"empty sub", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub", ""), 400, "invalid_request"},
		{"null sub", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub", "null"), 400, "invalid_request"},
		{"sub without sub_type", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub", webSub), 400, "invalid_request"},
		{"sub for a user", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "user", "sub", webSub), 400, "invalid_request"},
		{"organization without sub", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "organization"), 400, "invalid_request"},
		{"organization", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "organization", "sub", webSub), 200, ""},
		{"junk sub", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "organization", "sub", "acme"), 400, "invalid_request"},
		{"UUID1 sub", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "organization", "sub", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 400, "invalid_grant"},
		{"bad sub_type", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "session_token", webSession, "sub_type", "team"), 400, "invalid_request"},
		{"twice", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "web", "grant_type", "web", "session_token", webSession), 400, "invalid_request"},
		{"unknown refresh token", authtest.WebTokenPath, "application/x-www-form-urlencoded", form("grant_type", "refresh_token", "refresh_token", "nope"), 400, "invalid_grant"},
		{"revoke without token", authtest.WebRevokePath, "application/x-www-form-urlencoded", form(), 400, "invalid_request"},
		{"revoke bad hint", authtest.WebRevokePath, "application/x-www-form-urlencoded", form("token", "t", "token_type_hint", "id_token"), 400, "unsupported_token_type"},
	} {
		resp, err := http.Post(srv.URL+tc.path, tc.ctype, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || e.Error != tc.code {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, resp.StatusCode, e.Error, tc.status, tc.code)
		}
	}
}

func TestWebServerConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newRotatingWebServer(t)
	flow := newWebFlow(srv.URL)
	concurrently(t, 8, func() error {
		tok, err := flow.Acquire(context.Background())
		if err == nil {
			_ = srv.Accepts(tok.AccessToken)
			_ = srv.Requests()
			tok, err = flow.Refresh(context.Background(), tok.RefreshToken)
		}
		if err == nil {
			err = flow.Revoke(context.Background(), tok)
		}
		return err
	})
	if srv.Acquires() != 8 || srv.Refreshes() != 8 || srv.Revocations() != 16 || srv.Reuses() != 0 || len(srv.Requests()) != 32 {
		t.Errorf("acquires %d, refreshes %d, revocations %d, reuses %d, requests %d", srv.Acquires(), srv.Refreshes(), srv.Revocations(), srv.Reuses(), len(srv.Requests()))
	}
}
