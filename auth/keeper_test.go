package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// fakeFlow issues tokens living life on the fake clock. Queued errors answer
// the next requests; gate, when set, holds every request until closed.
type fakeFlow struct {
	clock *authtest.FakeClock
	life  time.Duration
	name  string // tells flows apart for Set

	mu    sync.Mutex
	n     int
	calls []time.Time // when each request arrived
	errs  []error
	gate  chan struct{}
}

func (f *fakeFlow) Acquire(ctx context.Context) (auth.Token, error) { return f.issue(ctx) }

func (f *fakeFlow) Refresh(ctx context.Context, _ string) (auth.Token, error) { return f.issue(ctx) }

func (f *fakeFlow) issue(ctx context.Context) (auth.Token, error) {
	f.mu.Lock()
	f.calls = append(f.calls, f.clock.Now())
	gate := f.gate
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	f.n++
	n := f.n
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return auth.Token{}, ctx.Err()
		}
	}
	if err != nil {
		return auth.Token{}, err
	}
	return auth.Token{
		AccessToken:  fmt.Sprintf("at-%s-%d", f.name, n),
		RefreshToken: fmt.Sprintf("rt-%s-%d", f.name, n),
		Expiry:       f.clock.Now().Add(f.life),
	}, nil
}

func (f *fakeFlow) failNext(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, errs...)
}

func (f *fakeFlow) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeFlow) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

var (
	errUnavailable = &auth.Error{Op: "refresh", Status: http.StatusServiceUnavailable, Action: auth.RetryLater}
	errRefused     = &auth.Error{Op: "refresh", Status: http.StatusUnauthorized, Action: auth.Reacquire}
	errBadSecret   = &auth.Error{Op: "acquire", Status: http.StatusUnauthorized, Reason: "invalid client credentials", Action: auth.NeedsUser}
)

// events records what OnEvent reports.
type events struct {
	mu  sync.Mutex
	all []auth.Event
}

func (e *events) add(ev auth.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) count(profile string, s auth.State) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Profile == profile && ev.State == s {
			n++
		}
	}
	return n
}

func newKeeper(t *testing.T, st auth.TokenStore, opt auth.KeeperOptions) *auth.Keeper {
	t.Helper()
	k := auth.NewKeeper(st, opt)
	t.Cleanup(k.Close)
	return k
}

// idle reports whether no refresh is in flight.
func idle(k *auth.Keeper) bool {
	for _, e := range k.Status() {
		if e.State == auth.StateRefreshing {
			return false
		}
	}
	return true
}

// settle waits, inside the test's synctest bubble, until every goroutine
// is blocked: the refreshes the fake clock started have ended, and the fake
// clock stands still meanwhile, so the Keeper's state is then stable.
func settle(t *testing.T, k *auth.Keeper) {
	t.Helper()
	synctest.Wait()
	if !idle(k) {
		t.Fatalf("a refresh is still in flight with every goroutine blocked: %+v", k.Status())
	}
}

// settleOnline is settle for a Keeper that talks to a fake server over
// loopback, which a bubble cannot hold (a connection's goroutines wait on
// the network, never durably blocked): it polls.
func settleOnline(t *testing.T, k *auth.Keeper) {
	t.Helper()
	testkit.Eventually(t, "refreshes to finish", func() bool { return idle(k) })
}

// waitFor waits, inside the test's synctest bubble, until every goroutine
// is blocked, and fails unless cond then holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("no %s with every goroutine blocked", what)
	}
}

func state(k *auth.Keeper, profile string) auth.Event {
	for _, e := range k.Status() {
		if e.Profile == profile {
			return e
		}
	}
	return auth.Event{}
}

// advance moves the clock and waits for the refreshes it started.
func advance(t *testing.T, k *auth.Keeper, c *authtest.FakeClock, d time.Duration) {
	t.Helper()
	c.Advance(d)
	settle(t, k)
}

// keeperTest runs test, in parallel with other tests, inside a synctest
// bubble, with a fake clock at t0 and a fake flow on it whose tokens live an
// hour.
func keeperTest(t *testing.T, test func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow)) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		test(t, clock, &fakeFlow{clock: clock, life: time.Hour})
	})
}

// keepOne starts a Keeper over st, on clock, keeping flow as the profile
// "p", and waits for its first request.
func keepOne(t *testing.T, clock *authtest.FakeClock, st auth.TokenStore, flow auth.Flow, opt auth.KeeperOptions) *auth.Keeper {
	t.Helper()
	opt.Clock = clock
	k := newKeeper(t, st, opt)
	k.Set(map[string]auth.Flow{"p": flow})
	advance(t, k, clock, 0)
	return k
}

// validAfter reports whether flow has had n requests and the profile "p"
// is valid, and fails the test, saying when, if not.
func validAfter(t *testing.T, k *auth.Keeper, flow *fakeFlow, n int, when string) bool {
	t.Helper()
	if flow.count() != n || state(k, "p").State != auth.StateValid {
		t.Errorf("%s: %d requests, %+v; want %d and valid", when, flow.count(), state(k, "p"), n)
		return false
	}
	return true
}

func constRand(v float64) func() float64 { return func() float64 { return v } }

func TestKeeperRefreshesAt80PercentWithJitter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			rand float64
			want time.Duration
		}{
			{0, 48 * time.Minute},                           // 80% of an hour
			{0.999999, 45*time.Minute + 3*time.Millisecond}, // 5% of an hour earlier, at most
		} {
			clock := authtest.NewFakeClock(t0)
			flow := &fakeFlow{clock: clock, life: time.Hour}
			k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(tc.rand)})
			if !validAfter(t, k, flow, 1, "after Set") {
				t.FailNow()
			}
			next, ok := clock.NextIn()
			if !ok || next > tc.want || next < tc.want-time.Second {
				t.Errorf("rand %v: next refresh in %v, want %v", tc.rand, next, tc.want)
			}
			advance(t, k, clock, next-time.Millisecond)
			if flow.count() != 1 {
				t.Errorf("refreshed %v early", time.Millisecond)
			}
			advance(t, k, clock, time.Millisecond)
			if flow.count() != 2 {
				t.Errorf("no refresh at the due time")
			}
		}
	})
}

func TestKeeperRefreshesMarginBeforeExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const margin = 2 * time.Minute
		for _, life := range []time.Duration{time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 10 * time.Minute, 10 * time.Hour} {
			for _, r := range []float64{0, 0.5, 0.999} {
				clock := authtest.NewFakeClock(t0)
				flow := &fakeFlow{clock: clock, life: life}
				keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(r), Margin: margin})
				next, _ := clock.NextIn()
				// A token living less than twice the margin is refreshed at
				// half its life, since earlier would mean at once.
				latest := life / 2
				if life >= 2*margin {
					latest = life - margin
				}
				if next > latest || next < life/3 {
					t.Errorf("life %v, rand %v: refresh after %v, want in [%v, %v]", life, r, next, life/3, latest)
				}
			}
		}
	})
}

func TestKeeperJitterSpreadsProfiles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		flows := map[string]auth.Flow{}
		var all []*fakeFlow
		for i := range 200 {
			f := &fakeFlow{clock: clock, life: time.Hour}
			flows[fmt.Sprint("p", i)] = f
			all = append(all, f)
		}
		// A fixed seed: the assertions below are about the spread, not luck.
		k := newKeeper(t, newMemStore(nil), auth.KeeperOptions{Clock: clock, Rand: rand.New(rand.NewPCG(1, 2)).Float64})
		k.Set(flows)
		advance(t, k, clock, 0)
		if clock.Timers() != 1 {
			t.Errorf("%d timers armed for 200 profiles; want one", clock.Timers())
		}
		fires := clock.Fired()
		advance(t, k, clock, 44*time.Minute)
		if got := clock.Fired(); got != fires {
			t.Errorf("%d wake-ups with nothing due; want 0", got-fires)
		}
		// Step through the window in which they are due.
		for range 50 {
			advance(t, k, clock, 6*time.Second)
		}
		buckets := map[time.Duration]int{}
		for _, f := range all {
			calls := f.callTimes()
			if len(calls) < 2 {
				t.Fatalf("a profile was not refreshed within the hour")
			}
			at := calls[1].Sub(t0)
			if at < 45*time.Minute || at > 48*time.Minute {
				t.Errorf("refreshed after %v, want within [45m, 48m]", at)
			}
			buckets[at.Truncate(30*time.Second)]++
		}
		for b, n := range buckets {
			if n > 60 { // 6 buckets of 30 s: about 33 each
				t.Errorf("%d of 200 profiles refreshed within 30 s of %v: not spread", n, b)
			}
		}
		if len(buckets) < 6 {
			t.Errorf("refreshes fell into %d buckets of 30 s, want 6", len(buckets))
		}
	})
}

func TestKeeperBacksOffExponentiallyWithCap(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		for range 12 {
			flow.failNext(errUnavailable)
		}
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{
			Rand:       constRand(0.999999),
			MinBackoff: time.Second, MaxBackoff: time.Minute,
		})
		want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60}
		for i, w := range want {
			w *= time.Second
			next, ok := clock.NextIn()
			if !ok || next > w || next < w-time.Second/10 {
				t.Errorf("retry %d after %v, want %v", i+1, next, w)
			}
			if e := state(k, "p"); e.State != auth.StateRetrying || e.Err == "" || !e.RetryAt.Equal(clock.Now().Add(next)) {
				t.Errorf("retry %d: status %+v", i+1, e)
			}
			advance(t, k, clock, next)
		}
		validAfter(t, k, flow, 13, "after the retries")
		// A success resets the backoff: the next failure waits the minimum.
		flow.failNext(errUnavailable)
		next, _ := clock.NextIn()
		advance(t, k, clock, next)
		if next, _ := clock.NextIn(); next > time.Second {
			t.Errorf("after a success the next retry waits %v, want 1s", next)
		}
	})
}

// A MinBackoff of minutes doubled some twenty times passes the range of a
// time.Duration; the backoff stays at MaxBackoff instead of wrapping round
// to a delay in the past, which retried at once, over and over.
func TestKeeperBackoffDoesNotOverflow(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		const failures = 40
		for range failures {
			flow.failNext(errUnavailable)
		}
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{
			Rand:       constRand(0.999999),
			MinBackoff: 10 * time.Minute, MaxBackoff: time.Hour,
		})
		for i := range failures {
			next, ok := clock.NextIn()
			if !ok || next < 10*time.Minute || next > time.Hour {
				t.Fatalf("retry %d after %v, want between 10m and 1h", i+1, next)
			}
			advance(t, k, clock, next)
		}
		validAfter(t, k, flow, failures+1, "after the retries")
	})
}

func TestKeeperHonoursRetryAfter(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		flow.failNext(&auth.Error{Op: "acquire", Status: http.StatusTooManyRequests, RetryAfter: 90 * time.Second, Action: auth.RetryLater})
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(0)})
		if next, _ := clock.NextIn(); next != 90*time.Second {
			t.Errorf("retry in %v, want the 90 s the server asked for", next)
		}
		// A caller right after the failure gets it, and no request.
		if _, err := k.Token(context.Background(), "p"); auth.ActionOf(err) != auth.RetryLater {
			t.Errorf("Token during Retry-After: %v", err)
		}
		advance(t, k, clock, 30*time.Second)
		if flow.count() != 1 {
			t.Fatalf("%d requests before Retry-After passed; want 1", flow.count())
		}
		advance(t, k, clock, 60*time.Second)
		validAfter(t, k, flow, 2, "after Retry-After")
	})
}

// A hostile or broken server's Retry-After cannot stall a profile: it waits
// at most MaxBackoff, and while the token is valid never past its expiry
// less the margin.
func TestKeeperCapsRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const year = 365 * 24 * time.Hour
		unavailable := &auth.Error{Op: "refresh", Status: http.StatusServiceUnavailable, RetryAfter: year, Action: auth.RetryLater}

		clock := authtest.NewFakeClock(t0)
		flow := &fakeFlow{clock: clock, life: time.Hour}
		flow.failNext(unavailable)
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(0)})
		if next, _ := clock.NextIn(); next != auth.DefaultMaxBackoff {
			t.Errorf("with no token, a year's Retry-After is waited %v; want at most the maximum backoff, %v", next, auth.DefaultMaxBackoff)
		}
		advance(t, k, clock, auth.DefaultMaxBackoff)
		if !validAfter(t, k, flow, 2, "after the maximum backoff") {
			t.FailNow()
		}

		// With a valid token: the refresh at 48 minutes fails the same way,
		// and the next comes before the token's last 2 minutes, not after it.
		flow.failNext(unavailable)
		advance(t, k, clock, 48*time.Minute)
		obtained := t0.Add(auth.DefaultMaxBackoff)
		if next, _ := clock.NextIn(); clock.Now().Add(next).After(obtained.Add(time.Hour - auth.DefaultMargin)) {
			t.Errorf("with a valid token the retry comes %v later, at %v; want no later than its expiry less the margin, %v", next, clock.Now().Add(next), obtained.Add(time.Hour-auth.DefaultMargin))
		}
	})
}

// Someone asking (Refresh now, a token with none valid) gets a request a
// few seconds after a failure, whatever Retry-After the server sent; until
// then the last error, and no request.
func TestKeeperExplicitRequestsPassRetryAfter(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		hour := &auth.Error{Op: "acquire", Status: http.StatusTooManyRequests, RetryAfter: time.Hour, Action: auth.RetryLater}
		flow.failNext(hour)
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(0)})

		if _, err := k.Token(context.Background(), "p"); err == nil || flow.count() != 1 {
			t.Fatalf("Token at once after the failure: %v after %d requests; want the error and no request", err, flow.count())
		}
		advance(t, k, clock, 3*time.Second)
		if tok, err := k.Token(context.Background(), "p"); err != nil || tok.AccessToken == "" || flow.count() != 2 {
			t.Fatalf("Token 3 s after the failure: %v after %d requests; want a new request and its token", err, flow.count())
		}

		// Refresh now: right after a failure it waits the floor, not the hour.
		flow.failNext(hour)
		if err := k.RefreshNow("p"); err != nil {
			t.Fatal(err)
		}
		settle(t, k)
		if err := k.RefreshNow("p"); err != nil {
			t.Fatal(err)
		}
		if next, _ := clock.NextIn(); next != 3*time.Second || flow.count() != 3 {
			t.Errorf("Refresh now right after a failure: next request in %v after %d; want 3s after 3", next, flow.count())
		}
		advance(t, k, clock, 3*time.Second)
		validAfter(t, k, flow, 4, "Refresh now after the floor")
	})
}

func TestKeeperServesLastGoodTokenWhileFailing(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(0.999999), MaxBackoff: 10 * time.Minute})
		good, err := k.Token(context.Background(), "p")
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			flow.failNext(errUnavailable)
		}
		var last time.Time
		for clock.Now().Before(good.Expiry) {
			next, _ := clock.NextIn()
			advance(t, k, clock, next)
			if !clock.Now().Before(good.Expiry) {
				break
			}
			last = clock.Now()
			tok, err := k.Token(context.Background(), "p")
			if err != nil || tok.AccessToken != good.AccessToken {
				t.Fatalf("at %v before expiry: %v; want the last good token", good.Expiry.Sub(clock.Now()), err)
			}
		}
		// The last try came a little before expiry, not after a backoff that
		// overshot it.
		if gap := good.Expiry.Sub(last); gap <= 0 || gap > 5*time.Second {
			t.Errorf("last try %v before expiry, want within 5 s", gap)
		}
		if _, err := k.Token(context.Background(), "p"); err == nil || auth.ActionOf(err) != auth.RetryLater {
			t.Errorf("after expiry with the server down: %v, want a retryable error", err)
		}
	})
}

func TestKeeperNeedsUserOnceAndStops(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		st := newMemStore(nil)
		st.put("p", auth.Token{AccessToken: "old", RefreshToken: "spent", Expiry: t0.Add(-time.Minute)})
		flow.failNext(errRefused, errBadSecret)
		var ev events
		k := keepOne(t, clock, st, flow, auth.KeeperOptions{OnEvent: ev.add})
		if flow.count() != 2 {
			t.Errorf("%d requests; want a refresh, then an acquire", flow.count())
		}
		for range 3 {
			if _, err := k.Token(context.Background(), "p"); auth.ActionOf(err) != auth.NeedsUser {
				t.Errorf("Token: %v, want a NeedsUser error", err)
			}
		}
		advance(t, k, clock, 24*time.Hour)
		if flow.count() != 2 || clock.Timers() != 0 {
			t.Errorf("%d requests, %d timers after a day; want no retries", flow.count(), clock.Timers())
		}
		waitFor(t, "the NeedsUser event", func() bool { return ev.count("p", auth.StateNeedsUser) == 1 })
		if e := state(k, "p"); e.Err == "" {
			t.Errorf("status %+v has no error", e)
		}
		// RefreshNow (the user asked) tries again, and recovers.
		if err := k.RefreshNow("p"); err != nil {
			t.Fatal(err)
		}
		settle(t, k)
		if flow.count() != 3 || ev.count("p", auth.StateNeedsUser) != 1 {
			t.Errorf("after RefreshNow: %d requests, %d NeedsUser events; want 3, 1", flow.count(), ev.count("p", auth.StateNeedsUser))
		}
		if st := state(k, "p").State; st != auth.StateValid {
			t.Errorf("state %v, want valid", st)
		}
	})
}

func TestKeeperConcurrentCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	server := authtest.NewIdentityServer("key", "secret")
	defer server.Close()
	clock := authtest.NewFakeClock(time.Now())
	server.SetClock(clock.Now)
	flow := identityFlow(server.URL, clock)
	k := newKeeper(t, newMemStore(nil), auth.KeeperOptions{Clock: clock})
	// Set schedules the acquire; the callers race the timer to it.
	k.Set(map[string]auth.Flow{"p": flow})
	var wg sync.WaitGroup
	tokens := make([]auth.Token, 32)
	// askAll has a caller per slot of tokens ask for the token at once.
	askAll := func() {
		for i := range tokens {
			wg.Go(func() {
				tok, err := k.Token(context.Background(), "p")
				if err != nil {
					t.Error(err)
				}
				tokens[i] = tok
			})
		}
	}
	askAll()
	clock.Advance(0)
	wg.Wait()
	for _, tok := range tokens {
		if tok.AccessToken != tokens[0].AccessToken || !server.Accepts(tok.AccessToken) {
			t.Fatal("callers got different or unaccepted tokens")
		}
	}
	if n := server.Acquires() + server.Refreshes(); n != 1 {
		t.Errorf("%d requests for 32 concurrent callers, want 1", n)
	}
	// Again at expiry, when a refresh is due.
	settleOnline(t, k)
	clock.Advance(time.Hour - time.Minute)
	askAll()
	wg.Wait()
	settleOnline(t, k)
	if server.Refreshes() != 1 || !server.Accepts(tokens[0].AccessToken) {
		t.Errorf("%d refreshes, want 1", server.Refreshes())
	}
}

func identityFlow(url string, clock auth.Clock) *auth.IdentityFlow {
	return &auth.IdentityFlow{
		BaseURL: url, ClientKey: "key", ClientSecret: "secret",
		Device: auth.Device{ID: auth.NewDeviceID(), Info: auth.DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "24.04"}, Network: "other"},
		Now:    clock.Now,
	}
}

func TestKeeperSetAddsAndRemovesProfiles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		a := &fakeFlow{clock: clock, life: time.Hour, name: "a"}
		b := &fakeFlow{clock: clock, life: time.Hour, name: "b"}
		c := &fakeFlow{clock: clock, life: time.Hour, name: "c"}
		st := newMemStore(nil)
		k := newKeeper(t, st, auth.KeeperOptions{Clock: clock, Rand: constRand(0)})
		k.Set(map[string]auth.Flow{"a": a, "b": b})
		advance(t, k, clock, 0)
		tb, _ := k.Token(context.Background(), "b")

		advance(t, k, clock, 10*time.Minute)
		k.Set(map[string]auth.Flow{"b": b, "c": c})
		advance(t, k, clock, 0)
		if _, err := k.Token(context.Background(), "a"); !errors.Is(err, auth.ErrUnknownProfile) {
			t.Errorf("a removed profile: %v", err)
		}
		if tok, _ := k.Token(context.Background(), "b"); tok != tb || b.count() != 1 {
			t.Errorf("an unchanged profile was refreshed: %d requests", b.count())
		}
		if c.count() != 1 || state(k, "c").State != auth.StateValid {
			t.Errorf("an added profile: %d requests, %v", c.count(), state(k, "c"))
		}
		// b keeps its schedule (t0+48m), c got its own (t0+10m+48m); a fires never.
		advance(t, k, clock, 38*time.Minute-time.Second)
		if a.count() != 1 || b.count() != 1 {
			t.Fatalf("requests a %d, b %d; want 1, 1", a.count(), b.count())
		}
		advance(t, k, clock, time.Second)
		if a.count() != 1 || b.count() != 2 || c.count() != 1 {
			t.Errorf("at 48m: requests a %d, b %d, c %d; want 1, 2, 1", a.count(), b.count(), c.count())
		}
		// Other credentials for c: whoever changed them dropped the stored
		// record (store.AddProfile does); the token held in memory goes too.
		c2 := &fakeFlow{clock: clock, life: time.Hour, name: "c2"}
		st.drop("c")
		k.Set(map[string]auth.Flow{"b": b, "c": c2})
		advance(t, k, clock, 0)
		if tok, _ := k.Token(context.Background(), "c"); tok.AccessToken != "at-c2-1" {
			t.Errorf("after a credentials change c serves %q", tok.AccessToken)
		}
		if got := len(k.Status()); got != 2 {
			t.Errorf("status lists %d profiles, want 2", got)
		}
	})
}

func TestKeeperRechecksAfterWallClockJump(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		x := &fakeFlow{clock: clock, life: time.Hour}
		y := &fakeFlow{clock: clock, life: time.Minute}
		x.failNext(errUnavailable, errUnavailable)
		k := newKeeper(t, newMemStore(nil), auth.KeeperOptions{
			Clock: clock, Rand: constRand(0), Margin: 10 * time.Second,
			MinBackoff: 4 * time.Minute, MaxBackoff: 4 * time.Minute,
		})
		k.Set(map[string]auth.Flow{"x": x, "y": y})
		advance(t, k, clock, 0) // x fails, retries in 4m; y is due in 48 s
		advance(t, k, clock, 48*time.Second)
		if x.count() != 1 || y.count() != 2 {
			t.Fatalf("requests x %d, y %d; want 1, 2", x.count(), y.count())
		}
		// A suspend: the wall clock moves on, the timer's monotonic one does not.
		clock.Jump(2 * time.Minute)
		advance(t, k, clock, 48*time.Second)
		if x.count() != 2 {
			t.Errorf("x was not retried when the timer noticed the jump: %d requests", x.count())
		}
		// Recheck, as on a network change, brings x's retry forward from the
		// 4 minutes of its backoff to halfway through them.
		k.Recheck()
		advance(t, k, clock, 2*time.Minute-time.Second)
		if x.count() != 2 {
			t.Errorf("Recheck retried x before half its backoff: %d requests", x.count())
		}
		advance(t, k, clock, time.Second)
		if x.count() != 3 || state(k, "x").State != auth.StateValid {
			t.Errorf("Recheck: x %d requests, %v", x.count(), state(k, "x"))
		}
	})
}

// A storm of rechecks (a faked resume twice a second, a flapping network)
// cannot make a failing profile's requests more frequent than backoff:
// 30 s of it against a server answering 503 make the requests of backoff
// at its average jitter, not one per recheck.
func TestKeeperRecheckStormCannotBeatBackoff(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		for range 100 {
			flow.failNext(errUnavailable)
		}
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{Rand: constRand(0.999)})
		for range 60 {
			k.Recheck()
			advance(t, k, clock, 500*time.Millisecond)
		}
		// Halfway through each window of 1, 2, 4, 8 and 16 s after the first
		// failure at 0: requests at 0, 0.5, 1.5, 3.5, 7.5 and 15.5 s.
		if n := flow.count(); n > 6 {
			t.Errorf("60 rechecks in 30 s made %d requests to a failing server; want at most 6, as backoff", n)
		}
	})
}

func TestKeeperSavesRotatedTokenBeforeReturningIt(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		st := newMemStore(nil)
		old := auth.Token{AccessToken: "old", RefreshToken: "rt-old", Expiry: t0.Add(-time.Second)}
		st.put("p", old)
		st.failSaves(errors.New("keychain locked"))
		k := newKeeper(t, st, auth.KeeperOptions{Clock: clock})
		k.Set(map[string]auth.Flow{"p": flow})
		if _, err := k.Token(context.Background(), "p"); err == nil || flow.count() != 1 {
			t.Fatalf("Token with a failing store: %v after %d requests; want an error", err, flow.count())
		}
		if st.get("p") != old {
			t.Errorf("the stored record changed")
		}
		st.failSaves(nil)
		k.Recheck() // the retry comes at half its backoff window, 0.5 s
		advance(t, k, clock, 500*time.Millisecond)
		tok, err := k.Token(context.Background(), "p")
		if err != nil || st.get("p") != tok {
			t.Errorf("handed out %q (%v) while the store holds %q", tok.AccessToken, err, st.get("p").AccessToken)
		}
	})
}

func TestKeeperCloseEndsWaiters(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		flow := &fakeFlow{clock: clock, life: time.Hour, gate: make(chan struct{})}
		k := auth.NewKeeper(newMemStore(nil), auth.KeeperOptions{Clock: clock})
		k.Set(map[string]auth.Flow{"p": flow})
		done := make(chan error)
		go func() {
			_, err := k.Token(context.Background(), "p")
			done <- err
		}()
		waitFor(t, "the request", func() bool { return flow.count() == 1 })
		k.Close()
		if err := <-done; err == nil {
			t.Error("Token succeeded through Close")
		}
		if _, err := k.Token(context.Background(), "p"); !errors.Is(err, auth.ErrKeeperClosed) {
			t.Errorf("after Close: %v", err)
		}
		if clock.Timers() != 0 {
			t.Errorf("%d timers left armed", clock.Timers())
		}
	})
}

func TestStateText(t *testing.T) {
	t.Parallel()
	for s := auth.StateNone; s <= auth.StateKeychain; s++ {
		b, _ := s.MarshalText()
		var back auth.State
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v: round trip gave %v, %v", s, back, err)
		}
	}
	// The words and numbers older readers know stay as they were.
	for s, want := range map[auth.State]string{0: "none", 1: "valid", 2: "refreshing", 3: "retrying", 4: "needs user", 5: "keychain not answering"} {
		if s.String() != want {
			t.Errorf("state %d is %q, want %q", int(s), s, want)
		}
	}
}

// An Event of a profile waiting for the keychain reads as retrying to a
// reader that predates the state, and as itself to one that knows it; the
// other states are written as before.
func TestEventJSON(t *testing.T) {
	t.Parallel()
	retryAt := t0.Add(30 * time.Second)
	e := auth.Event{Profile: "p", State: auth.StateKeychain, RetryAt: retryAt, Err: "keychain not answering"}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	// The reader older than StateKeychain: state words it knows, fields
	// it ignores.
	var old struct {
		State   string    `json:"state"`
		RetryAt time.Time `json:"retry_at"`
		Err     string    `json:"error"`
	}
	if err := json.Unmarshal(b, &old); err != nil || old.State != "retrying" || !old.RetryAt.Equal(retryAt) || old.Err != e.Err {
		t.Errorf("%s reads to an older reader as %+v, %v; want retrying", b, old, err)
	}
	var back auth.Event
	if err := json.Unmarshal(b, &back); err != nil || back != e {
		t.Errorf("%s reads back as %+v, %v; want %+v", b, back, err, e)
	}
	b, _ = json.Marshal(auth.Event{Profile: "p", State: auth.StateRetrying, RetryAt: retryAt, Err: "server error 503"})
	if want := `{"profile":"p","state":"retrying","retry_at":"2026-11-23T09:00:30Z","error":"server error 503"}`; string(b) != want {
		t.Errorf("a retrying event is %s, want %s as before", b, want)
	}
}

// downStore is a memStore whose keychain can stop answering.
type downStore struct {
	*memStore
	down atomic.Bool
}

func (s *downStore) LoadToken(p string) (auth.Token, bool, error) {
	if s.down.Load() {
		return auth.Token{}, false, fmt.Errorf("read %q: the keychain did not answer within 30s (%w)", p+"/token", auth.ErrKeychainNotAnswering)
	}
	return s.memStore.LoadToken(p)
}

func (s *downStore) SaveToken(p string, t auth.Token) error {
	if s.down.Load() {
		return fmt.Errorf("save %q: the keychain did not answer within 30s (%w)", p+"/token", auth.ErrKeychainNotAnswering)
	}
	return s.memStore.SaveToken(p, t)
}

// A keychain that stops answering puts the profile in StateKeychain, not
// NeedsUser: retried with backoff, its held token served meanwhile, and
// valid again once the keychain answers, without a new Set.
func TestKeeperKeychainNotAnswering(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		st := &downStore{memStore: newMemStore(nil)}
		var ev events
		k := keepOne(t, clock, st, flow, auth.KeeperOptions{
			Rand: constRand(0.999999), OnEvent: ev.add,
			MinBackoff: time.Second, MaxBackoff: time.Minute,
		})
		held := st.get("p")

		st.down.Store(true)
		next, _ := clock.NextIn()
		advance(t, k, clock, next) // the refresh at 80% of the lifetime
		e := state(k, "p")
		if e.State != auth.StateKeychain || e.State.String() != "keychain not answering" || !strings.Contains(e.Err, "keychain not answering") || e.RetryAt.IsZero() {
			t.Fatalf("with the keychain not answering: %+v", e)
		}
		tok, err := k.Token(context.Background(), "p")
		if err != nil || tok.AccessToken != held.AccessToken {
			t.Errorf("Token while the keychain does not answer = %q, %v; want the held token", tok.AccessToken, err)
		}
		var waits []time.Duration
		for range 4 {
			next, ok := clock.NextIn()
			if !ok {
				t.Fatal("no retry scheduled")
			}
			waits = append(waits, next)
			advance(t, k, clock, next)
			if s := state(k, "p").State; s != auth.StateKeychain {
				t.Fatalf("after a retry: %v, want keychain not answering", s)
			}
		}
		for i := 1; i < len(waits); i++ {
			if waits[i] <= waits[i-1] {
				t.Errorf("retries after %v: not backing off", waits)
			}
		}
		if ev.count("p", auth.StateNeedsUser) != 0 {
			t.Error("a keychain that does not answer was reported as needing the user")
		}

		st.down.Store(false) // the person unlocked it
		next, _ = clock.NextIn()
		advance(t, k, clock, next)
		if e := state(k, "p"); e.State != auth.StateValid || e.Err != "" {
			t.Errorf("once the keychain answers: %+v, want valid", e)
		}
		if got := st.get("p"); got.AccessToken == held.AccessToken {
			t.Error("the renewed token was not saved")
		}
	})
}

var soak = flag.Duration("soak", 0, "run TestKeeperSoak this long (also TOKENTRAY_SOAK=60s)")

// profileLocks is an in-process Locker standing in for the cross-process
// one, shared by two Keepers as by two processes.
type profileLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

func (l *profileLocks) Lock(ctx context.Context, profile string) (func(), error) {
	l.mu.Lock()
	ch, ok := l.locks[profile]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[profile] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// spendCounter wraps a flow and counts a refresh token presented again
// after it was spent by a successful refresh.
type spendCounter struct {
	auth.Flow
	mu    *sync.Mutex
	spent map[string]bool
	reuse *atomic.Int64
}

func (f spendCounter) Refresh(ctx context.Context, rt string) (auth.Token, error) {
	f.mu.Lock()
	if f.spent[rt] {
		f.reuse.Add(1)
	}
	f.mu.Unlock()
	t, err := f.Flow.Refresh(ctx, rt)
	if err == nil {
		f.mu.Lock()
		f.spent[rt] = true
		f.mu.Unlock()
	}
	return t, err
}

// TestKeeperSoak runs two Keepers (two processes) over one store against a
// faulty server with tokens living 2 s, while many goroutines ask for
// tokens: no caller may ever get an expired or refused token, and no spent
// refresh token may be presented again.
func TestKeeperSoak(t *testing.T) { // not parallel: timed, it runs with no other test of its package
	d := 5 * time.Second
	if env := os.Getenv("TOKENTRAY_SOAK"); env != "" {
		var err error
		if d, err = time.ParseDuration(env); err != nil {
			t.Fatalf("TOKENTRAY_SOAK: %v", err)
		}
	}
	if *soak > 0 {
		d = *soak
	}
	if testing.Short() {
		t.Skip("soak test")
	}
	server := authtest.NewIdentityServer("key", "secret")
	defer server.Close()
	server.SetLifetime(2 * time.Second)

	st := newMemStore(nil)
	locks := &profileLocks{locks: map[string]chan struct{}{}}
	var reuse atomic.Int64
	spentMu := &sync.Mutex{}
	spent := map[string]bool{}
	flows := map[string]auth.Flow{}
	var names []string
	for i := range 20 {
		f := identityFlow(server.URL, auth.SystemClock)
		f.Client = &http.Client{Timeout: 400 * time.Millisecond}
		name := fmt.Sprint("p", i)
		names = append(names, name)
		flows[name] = spendCounter{Flow: f, mu: spentMu, spent: spent, reuse: &reuse}
	}
	opt := auth.KeeperOptions{Locker: locks, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	keepers := []*auth.Keeper{newKeeper(t, st, opt), newKeeper(t, st, opt)}
	for _, k := range keepers {
		k.Set(flows)
	}

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { // faults: 5xx, 429 with Retry-After, timeouts, resets
		faults := []authtest.Fault{
			{Status: 503},
			{Status: 502, Body: []byte("<html>bad gateway</html>")},
			{Status: 429, Header: http.Header{"Retry-After": {"1"}}},
			{Delay: time.Second},
			{Reset: true},
		}
		for ctx.Err() == nil {
			if rand.IntN(3) == 0 {
				server.FailNext(1, faults[rand.IntN(len(faults))])
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var good, failed, bad atomic.Int64
	for i := range 16 {
		wg.Go(func() {
			k := keepers[i%2]
			for ctx.Err() == nil {
				tok, err := k.Token(ctx, names[rand.IntN(len(names))])
				now := time.Now()
				switch {
				case err != nil:
					failed.Add(1)
				case !tok.Expiry.After(now) || !server.Accepts(tok.AccessToken):
					bad.Add(1)
				default:
					good.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	t.Logf("%v: %d tokens served, %d errors while the server failed; %d acquires, %d refreshes",
		d, good.Load(), failed.Load(), server.Acquires(), server.Refreshes())
	if bad.Load() != 0 {
		t.Errorf("%d times a caller got an expired or refused token", bad.Load())
	}
	if reuse.Load() != 0 {
		t.Errorf("%d spent refresh tokens presented again", reuse.Load())
	}
	if good.Load() == 0 {
		t.Error("no token was served")
	}
}

func TestKeeperTakesAnotherProcesssTokenWithoutRequest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		st := newMemStore(nil)
		locks := &profileLocks{locks: map[string]chan struct{}{}}
		flow := &fakeFlow{clock: clock, life: time.Hour}
		opt := auth.KeeperOptions{Clock: clock, Locker: locks, Rand: constRand(0)}
		a, b := newKeeper(t, st, opt), newKeeper(t, st, opt)
		a.Set(map[string]auth.Flow{"p": flow})
		b.Set(map[string]auth.Flow{"p": flow})
		clock.Advance(0)
		settle(t, a)
		settle(t, b)
		if flow.count() != 1 {
			t.Errorf("two processes starting made %d requests, want 1", flow.count())
		}
		// Both are due at once; the one that gets the lock second finds the
		// first one's token in the store.
		clock.Advance(48 * time.Minute)
		settle(t, a)
		settle(t, b)
		ta, _ := a.Token(context.Background(), "p")
		tb, _ := b.Token(context.Background(), "p")
		if flow.count() != 2 || ta != tb || ta != st.get("p") {
			t.Errorf("after the refresh: %d requests, tokens %q and %q; want 2 requests and one token", flow.count(), ta.AccessToken, tb.AccessToken)
		}
	})
}

func TestKeeperOnEventMayCallBack(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		var k *auth.Keeper
		var seen atomic.Int64
		k = newKeeper(t, newMemStore(nil), auth.KeeperOptions{Clock: clock, OnEvent: func(e auth.Event) {
			// Would deadlock if events were delivered with the Keeper locked.
			k.Status()
			seen.Add(1)
		}})
		k.Set(map[string]auth.Flow{"p": flow})
		advance(t, k, clock, 0)
		waitFor(t, "none, refreshing and valid events", func() bool { return seen.Load() == 3 })
	})
}

// gateLocker holds every Lock until release is closed, reporting each
// caller on entered and each unlock on unlocked.
type gateLocker struct {
	entered  chan string
	release  chan struct{}
	unlocked chan string
}

func (g gateLocker) Lock(ctx context.Context, profile string) (func(), error) {
	g.entered <- profile
	select {
	case <-g.release:
		return func() { g.unlocked <- profile }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A refresh that waited for the lock while its profile was removed must not
// ask the server: the grant would be saved for a profile nobody owns, after
// `tokentray remove` deleted its entries.
func TestKeeperDropsRefreshOfRemovedProfile(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		clock := authtest.NewFakeClock(t0)
		a := &fakeFlow{clock: clock, life: time.Hour, name: "a"}
		st := newMemStore(nil)
		gate := gateLocker{entered: make(chan string, 1), release: make(chan struct{}), unlocked: make(chan string, 1)}
		k := newKeeper(t, st, auth.KeeperOptions{Clock: clock, Rand: constRand(0), Locker: gate})
		k.Set(map[string]auth.Flow{"a": a})
		clock.Advance(0) // fires the first refresh of a, which waits for the lock
		select {
		case <-gate.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the refresh never asked for the lock")
		}
		k.Set(map[string]auth.Flow{})
		close(gate.release)
		select {
		case <-gate.unlocked: // the refresh has done all it will do
		case <-time.After(10 * time.Second):
			t.Fatal("the refresh never released the lock")
		}
		if a.count() != 0 {
			t.Errorf("%d requests for a removed profile, want 0", a.count())
		}
		if tok := st.get("a"); tok.AccessToken != "" {
			t.Errorf("a token was saved for the removed profile")
		}
	})
}

// TestKeeperWebGrantTwoHours keeps a web grant profile for two hours of
// fake time against the fake in both its modes: as Polar, which issues no
// refresh token, the Keeper acquires anew about every 48 minutes; with
// rotating refresh tokens it refreshes instead. Every token handed out is
// accepted meanwhile, and revoking the stored token afterwards leaves no
// access token valid at the server.
func TestKeeperWebGrantTwoHours(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		mode                authtest.RefreshTokens
		acquires, refreshes int
	}{
		{"as Polar", authtest.NoRefreshToken, 3, 0},
		{"rotating", authtest.RotatingRefreshTokens, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := authtest.NewFakeClock(t0)
			srv := newWebServer(t)
			srv.SetClock(clock.Now)
			srv.SetRefreshTokens(tc.mode)
			flow := newWebFlow(srv.URL)
			flow.Now = clock.Now
			st := newMemStore(nil)
			k := newKeeper(t, st, auth.KeeperOptions{Clock: clock, Rand: constRand(0.5)})
			k.Set(map[string]auth.Flow{"p": flow})
			ctx := context.Background()
			for minute := 0; minute <= 120; minute++ {
				clock.Advance(time.Minute)
				settleOnline(t, k)
				tok, err := k.Token(ctx, "p")
				if err != nil || !srv.Accepts(tok.AccessToken) {
					t.Fatalf("minute %d: %v, accepted %v", minute, err, srv.Accepts(tok.AccessToken))
				}
			}
			if srv.Acquires() != tc.acquires || srv.Refreshes() != tc.refreshes || srv.Reuses() != 0 {
				t.Errorf("%d acquires, %d refreshes, %d reuses; want %d, %d, 0",
					srv.Acquires(), srv.Refreshes(), srv.Reuses(), tc.acquires, tc.refreshes)
			}
			k.Close()
			if err := flow.Revoke(ctx, st.get("p")); err != nil {
				t.Fatal(err)
			}
			if n := srv.ValidAccessTokens(); n != 0 {
				t.Errorf("%d access tokens valid at the server after revoking the stored one", n)
			}
		})
	}
}

// A token the API refuses shows in the profile's event, is cleared when the
// API accepts it again or a new token replaces it, and a note about a
// token no longer held changes nothing.
func TestKeeperRefusedToken(t *testing.T) {
	keeperTest(t, func(t *testing.T, clock *authtest.FakeClock, flow *fakeFlow) {
		ev := &events{}
		k := keepOne(t, clock, newMemStore(nil), flow, auth.KeeperOptions{OnEvent: ev.add})
		first, err := k.Token(t.Context(), "p")
		if err != nil {
			t.Fatal(err)
		}
		const why = "401 from https://api.example.com after a renewal"
		k.Refused("p", first.AccessToken, why)
		if e := state(k, "p"); e.State != auth.StateValid || e.Refused != why {
			t.Fatalf("after Refused: %+v; want valid with the note", e)
		}
		ev.mu.Lock()
		last := ev.all[len(ev.all)-1]
		ev.mu.Unlock()
		if last.Refused != why {
			t.Errorf("last event %+v; want the note reported", last)
		}
		// The note travels over the LocalAPI.
		var decoded auth.Event
		if data, err := json.Marshal(last); err != nil || json.Unmarshal(data, &decoded) != nil || decoded != last {
			t.Errorf("event %+v through JSON: %+v", last, decoded)
		}
		k.Refused("p", first.AccessToken, "")
		if e := state(k, "p"); e.Refused != "" {
			t.Errorf("after the API accepted it again: %+v", e)
		}
		k.Refused("p", first.AccessToken, why)
		if err := k.RefreshNow("p"); err != nil {
			t.Fatal(err)
		}
		settle(t, k)
		if e := state(k, "p"); e.Refused != "" || flow.count() != 2 {
			t.Errorf("after a new token: %+v (%d requests); want no note", e, flow.count())
		}
		k.Refused("p", first.AccessToken, why)
		if e := state(k, "p"); e.Refused != "" {
			t.Errorf("a note about the old token shows: %+v", e)
		}
	})
}
