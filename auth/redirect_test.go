package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
)

// A token endpoint that redirects to another host gets an error back, and
// the other host gets nothing: not the body with the secrets, not a
// header. This holds for every redirect status and even for a client that
// would follow redirects itself.
func TestCrossHostRedirectForwardsNothing(t *testing.T) {
	t.Parallel()
	const secret, session = "moved-client-secret", "moved-session-token"
	identity := authtest.NewIdentityServer(testKey, secret)
	defer identity.Close()
	web := authtest.NewWebServer("redirect-client", secret, session)
	defer web.Close()
	// The targets are reached as "localhost", the redirecting servers as
	// 127.0.0.1: two host names.
	otherHost := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }
	following := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}

	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, tc := range []struct {
			name   string
			target string
			flow   func(base string) auth.Flow
		}{
			{"identity", identity.URL, func(base string) auth.Flow {
				f := newFlow(base)
				f.ClientSecret, f.Client = secret, following
				return f
			}},
			{"web", web.URL, func(base string) auth.Flow {
				return &auth.WebGrantFlow{BaseURL: base, ClientID: "redirect-client", ClientSecret: secret, SessionToken: session, Client: following}
			}},
		} {
			target := otherHost(tc.target)
			from := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target+r.URL.Path, status)
			}))
			_, err := tc.flow(from.URL).Acquire(context.Background())
			from.Close()
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Status != status || !strings.Contains(ae.Reason, "redirected to") {
				t.Errorf("%s, %d to another host: %v; want an error naming the redirect", tc.name, status, err)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), session)) {
				t.Errorf("%s, %d: the error holds a secret: %v", tc.name, status, err)
			}
		}
	}
	if n, m := len(identity.Requests()), len(web.Requests()); n != 0 || m != 0 {
		t.Errorf("the other host got %d identity and %d web requests: a redirect was followed", n, m)
	}
}
