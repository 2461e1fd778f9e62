package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// Tokens gives the proxy its tokens: the agent's token service.
type Tokens interface {
	// Token returns a token of profile valid for a while yet.
	Token(ctx context.Context, profile string) (auth.Token, error)
	// Renew obtains a new token of profile now, replacing one the server
	// refused, and returns it.
	Renew(ctx context.Context, profile string) (auth.Token, error)
	// Refused says that the upstream refuses profile's token accessToken
	// even after a renewal, and why; why "" that it accepts it again. The
	// profile's state shows it.
	Refused(profile, accessToken, why string)
}

// MinRenewInterval is how often at most an upstream's 401 makes the proxy
// renew a profile's token: a server that refuses every token (a wrong
// scope, a base URL that needs other credentials) must not cost a refresh
// per request.
const MinRenewInterval = 30 * time.Second

// Proxy forwards requests to one profile's base URL with its token.
type Proxy struct {
	profile string
	base    *url.URL
	tokens  Tokens
	// onConnection is told once per client connection that a token went
	// to peer: the access log.
	onConnection func(Peer)

	rp  *httputil.ReverseProxy
	srv *http.Server

	renewMu   sync.Mutex
	lastRenew time.Time
	// refused is set while the profile's state says the upstream refuses
	// its token, so that a request it accepts clears that at the cost of
	// one atomic load per request.
	refused atomic.Bool
}

// Options tune a Proxy; the zero value is the production setting.
type Options struct {
	// Transport reaches the upstream; nil means auth.NewTransport with
	// connections kept alive for many concurrent clients.
	Transport http.RoundTripper
	// OnConnection is called once per client connection, at its first
	// request that gets a token, with the client's process.
	OnConnection func(Peer)
}

// New makes the proxy of profile, whose base URL is baseURL.
func New(profile, baseURL string, tokens Tokens, opts Options) (*Proxy, error) {
	if err := auth.CheckBaseURL(baseURL); err != nil {
		return nil, err
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	p := &Proxy{profile: profile, base: base, tokens: tokens, onConnection: opts.OnConnection}
	transport := opts.Transport
	if transport == nil {
		t := auth.NewTransport()
		// The default of 2 idle connections would make most of 16
		// concurrent clients open a new upstream connection per request.
		t.MaxIdleConnsPerHost = 64
		// A slow first byte is the API's business (a long poll, a model
		// thinking); the client decides how long it waits.
		t.ResponseHeaderTimeout = 0
		// Bodies pass as the client asked for them: no gzip it did not
		// ask for, unpacked here at the proxy's cost.
		t.DisableCompression = true
		transport = t
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: &renewing{next: transport, p: p},
		// FlushInterval stays 0, not -1: ReverseProxy flushes server-sent
		// events and bodies of unknown length at once by itself, and -1
		// would also flush the headers of every other response from a
		// timer of their own, a goroutine and a write more per request.
		BufferPool:   bufferPool{},
		ErrorHandler: p.upstreamError,
		ErrorLog:     log.New(io.Discard, "", 0), // upstreamError logs
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return p, nil
}

// Serve answers on ln, which must come from Listen, until Close.
func (p *Proxy) Serve(ln net.Listener) error {
	err := p.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the proxy and ends its connections.
func (p *Proxy) Close() error { return p.srv.Close() }

type connKey struct{}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok {
		writeError(w, http.StatusInternalServerError, "the proxy was not started with proxy.Listen")
		return
	}
	peer, err := c.lookup()
	if err == nil && peer.UID != -1 && peer.UID != os.Getuid() {
		err = fmt.Errorf("uid %d is not this user's", peer.UID)
	}
	if err != nil {
		log.Printf("proxy %s: refused a connection from %s: %v", p.profile, c.RemoteAddr(), err)
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusForbidden, "this proxy serves only the user who runs Tokentray")
		return
	}
	if status, msg := p.refusal(r); status != 0 {
		writeError(w, status, msg)
		return
	}
	tok, err := p.tokens.Token(r.Context(), p.profile)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("no token for profile %s: %v", p.profile, err))
		return
	}
	if p.onConnection != nil {
		c.record.Do(func() { p.onConnection(peer) })
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok.AccessToken)))
}

// refusal says why r must not be forwarded, or returns 0: it must go to
// the base URL and nowhere else, and not on a web page's behalf.
func (p *Proxy) refusal(r *http.Request) (int, string) {
	switch {
	case r.Method == http.MethodConnect:
		return http.StatusMethodNotAllowed, "CONNECT is refused: this is not a forward proxy; send requests to it as to " + p.base.Redacted()
	case !strings.HasPrefix(r.RequestURI, "/"):
		return http.StatusBadRequest, "absolute-form request targets are refused: this is not a forward proxy; request /path from it as from " + p.base.Redacted()
	case !p.ownHost(r.Host):
		// A page on a name that resolves to 127.0.0.1 (DNS rebinding)
		// sends its own name.
		return http.StatusMisdirectedRequest, fmt.Sprintf("Host %q is refused: send Host localhost or this proxy's address", r.Host)
	case crossSite(r):
		return http.StatusForbidden, "requests from web pages are refused: a site in a browser must not spend your token"
	}
	return 0, ""
}

// ownHost accepts the names the proxy goes by: a loopback address or
// localhost, with any port or none (unix sockets), and the upstream's own
// host, which some clients send after a rewrite of the URL.
func (p *Proxy) ownHost(host string) bool {
	if host == "" || strings.EqualFold(host, p.base.Host) {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(name, "[]"))
	return err == nil && ip.IsLoopback()
}

// crossSite reports a request a browser makes for a web page: browsers
// say so in Sec-Fetch-Site, and older ones send an Origin that is not the
// proxy's. Tools and SDKs send neither.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "none", "same-origin":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

type tokenKey struct{}

// rewrite sends the request to the base URL, its path appended to the base
// URL's and its query kept, with the profile's token in place of any
// Authorization the client sent.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.base)
	pr.Out.Header.Set("Authorization", "Bearer "+pr.In.Context().Value(tokenKey{}).(string))
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client hung up; nobody to tell
	}
	msg := fmt.Sprintf("upstream %s unreachable: %v", p.base.Redacted(), err)
	log.Printf("proxy %s: %s", p.profile, msg)
	writeError(w, http.StatusBadGateway, msg)
}

// renewing retries a request the upstream answered 401 with a renewed
// token, when it can be sent again: idempotent and without a body.
type renewing struct {
	next http.RoundTripper
	p    *Proxy
}

func (t *renewing) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	sent := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	if resp.StatusCode != http.StatusUnauthorized {
		t.p.accepted(sent)
		return resp, nil
	}
	tok, err := t.p.renew(req.Context(), sent)
	if err != nil {
		log.Printf("proxy %s: the upstream refused the token and renewing it failed: %v", t.p.profile, err)
		return resp, nil
	}
	if tok.AccessToken == sent {
		// Renewed a moment ago, and refused all the same.
		t.p.stillRefused(sent)
		return resp, nil
	}
	if !replayable(req) {
		return resp, nil
	}
	// Drained, the connection is kept for the retry.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	retry := req.Clone(req.Context())
	retry.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = t.next.RoundTrip(retry)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.p.stillRefused(tok.AccessToken)
	}
	return resp, err
}

// stillRefused puts in the profile's state that the upstream refuses a
// token renewed because it refused the one before: no renewal will help.
func (p *Proxy) stillRefused(token string) {
	p.refused.Store(true)
	p.tokens.Refused(p.profile, token, fmt.Sprintf("%s answers 401 (unauthorized) to a token renewed for it; check the profile's scope and base URL", p.base.Redacted()))
}

// accepted takes back stillRefused once the upstream accepts a token.
func (p *Proxy) accepted(token string) {
	if p.refused.Load() && p.refused.CompareAndSwap(true, false) {
		p.tokens.Refused(p.profile, token, "")
	}
}

// replayable is a request that may be sent twice with the same effect and
// has no body that was consumed by the first try.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, http.MethodPut, http.MethodTrace:
	default:
		return false
	}
	return req.ContentLength == 0 && (req.Body == nil || req.Body == http.NoBody)
}

// renew replaces a token the upstream refused, once: requests that were
// refused the same token meanwhile get the one renewal, and a server that
// refuses every token gets at most one renewal per MinRenewInterval.
func (p *Proxy) renew(ctx context.Context, rejected string) (auth.Token, error) {
	p.renewMu.Lock()
	defer p.renewMu.Unlock()
	tok, err := p.tokens.Token(ctx, p.profile)
	if err != nil || tok.AccessToken != rejected {
		return tok, err
	}
	if !p.lastRenew.IsZero() && time.Since(p.lastRenew) < MinRenewInterval {
		log.Printf("proxy %s: the upstream refused a token renewed %v ago; check the profile's scope and base URL", p.profile, time.Since(p.lastRenew).Round(time.Second))
		return tok, nil
	}
	p.lastRenew = time.Now()
	log.Printf("proxy %s: the upstream refused the token before its expiry; renewing it", p.profile)
	return p.tokens.Renew(ctx, p.profile)
}

// bufferPool reuses the 32 KiB buffers that copy bodies, so that streaming
// costs no garbage per request.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// writeError answers with the proxy's own error, told apart from the
// upstream's by its JSON body {"error": …} and the X-Tokentray-Proxy header.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Tokentray-Proxy", "error")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
