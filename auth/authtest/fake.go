package authtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// What both fakes share: the HTTP server, the faults they can be told to
// answer with, the request log and counts, the clock, and the ledger of the
// tokens they issued.

// RefreshTokens is how a fake issues refresh tokens.
type RefreshTokens int

const (
	// RotatingRefreshTokens: every grant carries a new refresh token and
	// a refresh spends the one presented; presenting a spent one again
	// revokes every token descended from the same acquire, as token-theft
	// detection in real servers does. The identity fake's default.
	RotatingRefreshTokens RefreshTokens = iota
	// NoRefreshToken: the response has no refresh token field, as
	// Polar's web grant answers. The web fake's default.
	NoRefreshToken
	// NullRefreshToken: the field is sent as JSON null, as RFC 6749
	// allows.
	NullRefreshToken
)

// kind sorts requests for counting.
type kind int

const (
	otherRequest kind = iota
	acquireRequest
	refreshRequest
	revokeRequest
	kinds
)

// request is a recorded request that can hand out copies of itself.
type request[R any] interface{ clone() R }

// Core is the machinery IdentityServer and WebServer share, and its
// methods are theirs: a loopback server that records every request,
// answers queued Faults, can be slowed down, and keeps the ledger of the
// tokens it issued on a clock the test may set. Its methods are safe for
// concurrent use.
type Core[R request[R]] struct {
	// URL is the base URL to configure a flow with, http://127.0.0.1:port.
	URL string

	srv    *httptest.Server
	faults faultQueue
	// record reads a request as its protocol defines it; answer serves it.
	record func(r *http.Request, raw []byte) (R, kind)
	answer func(w http.ResponseWriter, r *http.Request, rec R)

	mu       sync.Mutex
	lifetime time.Duration
	now      func() time.Time
	delay    time.Duration
	answered func(R, int)
	refresh  RefreshTokens
	requests []R
	counts   [kinds]int
	grants   ledger
}

func newCore[R request[R]](refresh RefreshTokens, record func(*http.Request, []byte) (R, kind), answer func(http.ResponseWriter, *http.Request, R)) *Core[R] {
	c := &Core[R]{
		record:   record,
		answer:   answer,
		lifetime: time.Hour,
		now:      time.Now,
		refresh:  refresh,
		grants:   newLedger(),
	}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	c.URL = c.srv.URL
	return c
}

// Close shuts the server down, waiting for requests in flight; a request
// held back by a Fault's Delay ends early.
func (c *Core[R]) Close() { c.srv.Close() }

// SetLifetime sets how long issued access tokens live; the default is an
// hour, which is also what Polar's web grant issues.
func (c *Core[R]) SetLifetime(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lifetime = d
}

// SetClock replaces the server's clock, which stamps and checks expiry.
func (c *Core[R]) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// SetRefreshTokens sets how grants issued from now on carry refresh
// tokens.
func (c *Core[R]) SetRefreshTokens(mode RefreshTokens) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh = mode
}

// SetDelay holds back every answer that is not a Fault by d before the
// request is checked and served, or until the client gives up: a slow but
// working server. Zero, the default, answers at once.
func (c *Core[R]) SetDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delay = d
}

// OnAnswered sets a function called with every request that was served
// (not answered by a Fault) and the status of its answer, once that answer
// has been written and flushed to the client, before the handler returns.
// It runs on the request's goroutine, so an answer's effects on the server
// (a spent refresh token) have happened. nil removes it.
func (c *Core[R]) OnAnswered(f func(req R, status int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = f
}

// FailNext answers the next n requests with f instead of serving them. The
// requests are still recorded and counted. Calls queue up in order.
func (c *Core[R]) FailNext(n int, f Fault) { c.faults.add(n, f) }

// Requests returns a copy of every request received, oldest first.
func (c *Core[R]) Requests() []R {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]R, len(c.requests))
	for i, r := range c.requests {
		out[i] = r.clone()
	}
	return out
}

// Acquires counts the requests for a new grant, answered or not.
func (c *Core[R]) Acquires() int { return c.count(acquireRequest) }

// Refreshes counts the requests that present a refresh token, answered or
// not.
func (c *Core[R]) Refreshes() int { return c.count(refreshRequest) }

// Revocations counts the requests to the revocation endpoint, answered or
// not. The identity API has none.
func (c *Core[R]) Revocations() int { return c.count(revokeRequest) }

func (c *Core[R]) count(k kind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[k]
}

// Reuses counts the requests that presented a spent refresh token: a
// client that persists rotated tokens correctly never makes one.
func (c *Core[R]) Reuses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grants.reuses
}

// Accepts reports whether the API would honour accessToken now: issued by
// this server, not expired, and not revoked.
func (c *Core[R]) Accepts(accessToken string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grants.accepts(accessToken, c.now())
}

// ValidAccessTokens counts the access tokens the API would honour now,
// whoever holds them: after a client removed its grant, none should be.
func (c *Core[R]) ValidAccessTokens() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := c.now(), 0
	for access := range c.grants.access {
		if c.grants.accepts(access, now) {
			n++
		}
	}
	return n
}

func (c *Core[R]) serve(w http.ResponseWriter, r *http.Request) {
	rec, k := c.record(r, readBody(r))

	c.mu.Lock()
	c.requests = append(c.requests, rec)
	c.counts[k]++
	delay, answered := c.delay, c.answered
	c.mu.Unlock()

	if f, ok := c.faults.next(); ok {
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
		// Every answer ends by writing to w.
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			_ = http.NewResponseController(sw).Flush()
			answered(rec.clone(), sw.status)
		}()
	}
	c.answer(w, r, rec)
}

// issue records access as a token of g and puts it, and a refresh token as
// the server's mode says, into body under the protocol's field names.
// newRefresh makes a refresh token. The caller holds c.mu.
func (c *Core[R]) issue(body map[string]any, accessField, refreshField string, g grant, access string, newRefresh func() string) {
	c.grants.issue(access, g)
	body[accessField] = access
	switch c.refresh {
	case RotatingRefreshTokens:
		rt := newRefresh()
		c.grants.issueRefresh(rt, g)
		body[refreshField] = rt
	case NullRefreshToken:
		body[refreshField] = nil
	}
}

// Fault is a canned misbehaviour, answered instead of the normal response.
type Fault struct {
	Status int // 0 means 500
	// Header is added to the response; a Content-Type here makes a wrong
	// one. Without one, net/http sniffs the type from Body.
	Header http.Header
	Body   []byte // sent as is, e.g. malformed JSON or an HTML page
	// Filler is a number of bytes streamed after Body, e.g. 64 << 20 for a
	// server that will not stop talking. They are never held in memory;
	// the stream ends early when the client hangs up.
	Filler int64
	// Delay holds the response back, or until the client gives up; it
	// simulates a server that does not answer in time.
	Delay time.Duration
	// Reset drops the connection with a TCP reset, without any response.
	Reset bool
}

// faultQueue holds the faults to answer the next requests with.
type faultQueue struct {
	mu sync.Mutex
	q  []Fault
}

func (fq *faultQueue) add(n int, f Fault) {
	fq.mu.Lock()
	defer fq.mu.Unlock()
	for range n {
		fq.q = append(fq.q, f)
	}
}

// next pops the next fault, if any.
func (fq *faultQueue) next() (Fault, bool) {
	fq.mu.Lock()
	defer fq.mu.Unlock()
	if len(fq.q) == 0 {
		return Fault{}, false
	}
	f := fq.q[0]
	fq.q = fq.q[1:]
	return f, true
}

func (f *Fault) serve(w http.ResponseWriter, r *http.Request) {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Reset {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST, not FIN
			}
			conn.Close()
			return
		}
	}
	for k, vs := range f.Header {
		w.Header()[k] = vs
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	if _, err := w.Write(f.Body); err != nil || f.Filler <= 0 {
		return
	}
	filler := bytes.Repeat([]byte("x"), 32<<10)
	for left := f.Filler; left > 0; left -= int64(len(filler)) {
		if _, err := w.Write(filler[:min(left, int64(len(filler)))]); err != nil {
			return // the client hung up, as it should
		}
	}
}

// ledger tracks grants the way servers with rotating refresh tokens do:
// each acquire starts a family of tokens; each refresh spends its refresh
// token and extends the family; presenting a spent refresh token again
// looks like theft and revokes the whole family. Its owner (a Core)
// serialises calls.
type ledger struct {
	access        map[string]grant        // issued access token → its grant
	refresh       map[string]*refreshInfo // issued refresh token → its state
	revoked       map[string]bool         // family → revoked
	revokedAccess map[string]bool         // access tokens revoked by themselves
	reuses        int                     // spent refresh tokens presented
}

// grant is what an issued token belongs to.
type grant struct {
	family, owner string // owner: whom the token was issued to
	account       string // the signed-in account it carries; "" when anonymous
	expiry        time.Time
}

type refreshInfo struct {
	grant
	spent bool
}

func newLedger() ledger {
	return ledger{
		access:        map[string]grant{},
		refresh:       map[string]*refreshInfo{},
		revoked:       map[string]bool{},
		revokedAccess: map[string]bool{},
	}
}

func (l *ledger) issue(access string, g grant) { l.access[access] = g }

func (l *ledger) issueRefresh(refresh string, g grant) {
	l.refresh[refresh] = &refreshInfo{grant: g}
}

// redeem spends a refresh token presented by owner and returns its grant,
// or, with ok false, why it is refused.
func (l *ledger) redeem(token, owner string) (g grant, ok bool, refusal string) {
	info, found := l.refresh[token]
	switch {
	case !found || info.owner != owner:
		return grant{}, false, "invalid refresh token"
	case info.spent:
		l.reuses++
		l.revoked[info.family] = true
		return grant{}, false, "refresh token already used"
	case l.revoked[info.family]:
		return grant{}, false, "refresh token revoked"
	}
	info.spent = true
	return info.grant, true, ""
}

// revoke answers RFC 7009 for token, issued to owner, as authlib's
// revocation endpoint does: hint limits where the token is looked up; a
// refresh token takes its whole family with it, an access token revoked
// with the hint access_token only itself, and one revoked without a hint
// its family. Unknown tokens are ignored.
func (l *ledger) revoke(token, owner, hint string) {
	if info, ok := l.refresh[token]; ok && info.owner == owner && hint != "access_token" {
		l.revoked[info.family] = true
		return
	}
	if g, ok := l.access[token]; ok && g.owner == owner && hint != "refresh_token" {
		if hint == "access_token" {
			l.revokedAccess[token] = true
		} else {
			l.revoked[g.family] = true
		}
	}
}

// accepts reports whether access was issued, has not expired at now, and
// has not been revoked.
func (l *ledger) accepts(access string, now time.Time) bool {
	g, ok := l.access[access]
	return ok && now.Before(g.expiry) && !l.revoked[g.family] && !l.revokedAccess[access]
}

// readBody reads a request body as far as any real token request goes.
func readBody(r *http.Request) []byte {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return raw
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
