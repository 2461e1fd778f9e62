package authtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// What both fakes share: the faults they can be told to answer with, and
// the bookkeeping of rotating refresh tokens.

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
// looks like theft and revokes the whole family. Its owner (a server)
// serialises calls.
type ledger struct {
	access  map[string]grant        // issued access token → its grant
	refresh map[string]*refreshInfo // issued refresh token → its state
	revoked map[string]bool         // family → revoked
	reuses  int                     // spent refresh tokens presented
}

type grant struct {
	family, owner string
	expiry        time.Time
}

type refreshInfo struct {
	family, owner string // owner: whom the token was issued to
	spent         bool
}

func newLedger() ledger {
	return ledger{access: map[string]grant{}, refresh: map[string]*refreshInfo{}, revoked: map[string]bool{}}
}

// issue records an access token and, unless refresh is "", a refresh token
// of family, issued to owner.
func (l *ledger) issue(family, owner, access, refresh string, expiry time.Time) {
	l.access[access] = grant{family: family, owner: owner, expiry: expiry}
	if refresh != "" {
		l.refresh[refresh] = &refreshInfo{family: family, owner: owner}
	}
}

// redeem spends a refresh token presented by owner and returns its family,
// or, with ok false, why it is refused.
func (l *ledger) redeem(token, owner string) (family string, ok bool, refusal string) {
	info, found := l.refresh[token]
	switch {
	case !found || info.owner != owner:
		return "", false, "invalid refresh token"
	case info.spent:
		l.reuses++
		l.revoked[info.family] = true
		return "", false, "refresh token already used"
	case l.revoked[info.family]:
		return "", false, "refresh token revoked"
	}
	info.spent = true
	return info.family, true, ""
}

// revoke revokes the family of token, an access or refresh token issued to
// owner; other tokens are ignored.
func (l *ledger) revoke(token, owner string) {
	if info, ok := l.refresh[token]; ok && info.owner == owner {
		l.revoked[info.family] = true
	}
	if g, ok := l.access[token]; ok && g.owner == owner {
		l.revoked[g.family] = true
	}
}

// accepts reports whether access was issued, has not expired at now, and
// has not been revoked.
func (l *ledger) accepts(access string, now time.Time) bool {
	g, ok := l.access[access]
	return ok && now.Before(g.expiry) && !l.revoked[g.family]
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
