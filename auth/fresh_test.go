package auth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
)

// freshSetup starts a server and stores the given token (if any) under "p".
func freshSetup(t *testing.T, stored *auth.Token) (*authtest.IdentityServer, *auth.IdentityFlow, *memStore) {
	t.Helper()
	srv := newServer(t)
	st := newMemStore(nil)
	if stored != nil {
		st.put("p", *stored)
	}
	return srv, newFlow(srv.URL), st
}

func TestFreshReturnsValidTokenWithoutRequest(t *testing.T) {
	t.Parallel()
	now := time.Now()
	stored := auth.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(time.Hour)}
	srv, flow, st := freshSetup(t, &stored)
	got, err := auth.Fresh(context.Background(), flow, st, "p", now, auth.DefaultMargin)
	if err != nil || got != stored {
		t.Fatalf("got %+v, %v; want the stored token", got, err)
	}
	if n := len(srv.Requests()); n != 0 || st.saveCount() != 0 {
		t.Errorf("%d requests and %d saves for a valid token", n, st.saveCount())
	}
}

func TestFreshAcquiresWhenNothingStored(t *testing.T) {
	t.Parallel()
	srv, flow, st := freshSetup(t, nil)
	got, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Acquires() != 1 || st.get("p") != got || !srv.Accepts(got.AccessToken) {
		t.Errorf("acquires %d, stored %v", srv.Acquires(), st.get("p") == got)
	}
}

func TestFreshRefreshesWithinMargin(t *testing.T) {
	t.Parallel()
	srv, flow, st := freshSetup(t, nil)
	old := acquire(t, flow)
	// Valid for one more minute: inside the two-minute margin.
	old.Expiry = time.Now().Add(time.Minute)
	st.put("p", old)
	got, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Refreshes() != 1 || srv.Acquires() != 1 {
		t.Errorf("refreshes %d, acquires %d; want 1 refresh after the seeding acquire", srv.Refreshes(), srv.Acquires())
	}
	if got.RefreshToken == old.RefreshToken || st.get("p") != got || st.saveCount() != 1 {
		t.Errorf("the rotated grant was not persisted: saves %d", st.saveCount())
	}
	if r := srv.Requests()[1]; r.Body.RefreshToken != old.RefreshToken {
		t.Errorf("refreshed with %q, want the stored %q", r.Body.RefreshToken, old.RefreshToken)
	}
}

func TestFreshAcquiresWhenRefreshRejected(t *testing.T) {
	t.Parallel()
	expired := auth.Token{AccessToken: "a", RefreshToken: "not-issued-here", Expiry: time.Now().Add(-time.Hour)}
	srv, flow, st := freshSetup(t, &expired)
	got, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Refreshes() != 1 || srv.Acquires() != 1 {
		t.Errorf("refreshes %d, acquires %d; want one each", srv.Refreshes(), srv.Acquires())
	}
	if !srv.Accepts(got.AccessToken) || st.get("p") != got {
		t.Error("the acquired grant was not returned and persisted")
	}
}

func TestFreshAcquiresWithoutRefreshToken(t *testing.T) {
	t.Parallel()
	expired := auth.Token{AccessToken: "a", Expiry: time.Now().Add(-time.Hour)}
	srv, flow, st := freshSetup(t, &expired)
	if _, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin); err != nil {
		t.Fatal(err)
	}
	if srv.Refreshes() != 0 || srv.Acquires() != 1 {
		t.Errorf("refreshes %d, acquires %d; want one acquire", srv.Refreshes(), srv.Acquires())
	}
}

func TestFreshFailureKeepsStoredToken(t *testing.T) {
	t.Parallel()
	expired := auth.Token{AccessToken: "a", RefreshToken: "r", Expiry: time.Now().Add(-time.Minute)}
	for _, tc := range []struct {
		name         string
		faults       int
		status       int
		wantAcquires int
		wantAction   auth.Action
	}{
		// A server error is worth a retry later, not a new grant.
		{"refresh 503", 1, http.StatusServiceUnavailable, 0, auth.RetryLater},
		// A rejected refresh falls back to acquire, which fails too.
		{"refresh and acquire 401", 2, http.StatusUnauthorized, 1, auth.NeedsUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, flow, st := freshSetup(t, &expired)
			srv.FailNext(tc.faults, authtest.Fault{Status: tc.status, Body: []byte(`{"message":"no"}`)})
			got, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Action != tc.wantAction {
				t.Fatalf("got %v", err)
			}
			if got != (auth.Token{}) || st.saveCount() != 0 || st.get("p") != expired {
				t.Errorf("token %+v, saves %d, stored %+v", got, st.saveCount(), st.get("p"))
			}
			if srv.Acquires() != tc.wantAcquires {
				t.Errorf("acquires %d, want %d", srv.Acquires(), tc.wantAcquires)
			}
		})
	}
}

// A token inside the margin but not yet expired is still worth more than an
// error: it is served while the server fails.
func TestFreshFailureServesLastGoodToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	lastGood := auth.Token{AccessToken: "a", RefreshToken: "r", Expiry: now.Add(time.Minute)}
	srv, flow, st := freshSetup(t, &lastGood)
	srv.FailNext(1, authtest.Fault{Status: http.StatusBadGateway})
	got, err := auth.Fresh(context.Background(), flow, st, "p", now, auth.DefaultMargin)
	if err != nil || got != lastGood {
		t.Fatalf("got %+v, %v; want the last good token", got, err)
	}
	if srv.Refreshes() != 1 || st.saveCount() != 0 {
		t.Errorf("refreshes %d, saves %d; want one attempt and nothing saved", srv.Refreshes(), st.saveCount())
	}
}

func TestFreshStoreErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("keychain locked")
	_, flow, st := freshSetup(t, nil)
	st.failLoads(boom)
	if _, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin); !errors.Is(err, boom) {
		t.Errorf("load error: got %v", err)
	}
	srv, flow, st := freshSetup(t, nil)
	st.failSaves(boom)
	got, err := auth.Fresh(context.Background(), flow, st, "p", time.Now(), auth.DefaultMargin)
	if !errors.Is(err, boom) || got != (auth.Token{}) {
		t.Errorf("save error: got %+v, %v; want no token and the error", got, err)
	}
	if srv.Acquires() != 1 {
		t.Errorf("acquires %d", srv.Acquires())
	}
}
