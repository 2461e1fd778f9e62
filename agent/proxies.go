package agent

import (
	"log"
	"net"
	"sync"

	"github.com/tokentray/tokentray/agent/proxy"
	"github.com/tokentray/tokentray/store"
)

// Proxies runs the local proxy of every profile that has one.
type Proxies struct {
	Tokens *Tokens
	// OnConnection is told of each client connection a proxy gives a
	// token: the access log.
	OnConnection func(profile string, peer proxy.Peer)

	mu      sync.Mutex
	running map[string]*runningProxy // by profile
}

type runningProxy struct {
	address, baseURL string
	p                *proxy.Proxy
	ln               net.Listener
}

// stop ends the proxy and frees its address at once. Closing the listener
// here, not only through the server, matters when its Serve has not begun
// yet: the server closes only what it serves.
func (r *runningProxy) stop() {
	r.p.Close()
	r.ln.Close()
}

// Sync starts the proxies of profiles not yet served, and stops or
// restarts those removed or changed (address or base URL). A proxy that
// cannot start is logged and the others go on.
func (ps *Proxies) Sync(profiles []store.Profile) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.running == nil {
		ps.running = map[string]*runningProxy{}
	}
	want := map[string]store.Profile{}
	for _, p := range profiles {
		if p.Proxy != "" {
			want[p.Name] = p
		}
	}
	for name, r := range ps.running {
		if p, ok := want[name]; !ok || p.Proxy != r.address || p.BaseURL != r.baseURL {
			r.stop()
			delete(ps.running, name)
			log.Printf("proxy %s on %s stopped", name, r.address)
		}
	}
	for name, p := range want {
		if _, ok := ps.running[name]; ok {
			continue
		}
		r, err := ps.start(p)
		if err != nil {
			log.Printf("proxy %s: %v", name, err)
			continue
		}
		ps.running[name] = r
		log.Printf("proxy %s on %s forwards to %s", name, p.Proxy, p.BaseURL)
	}
}

func (ps *Proxies) start(p store.Profile) (*runningProxy, error) {
	addr, err := proxy.ParseAddress(p.Proxy)
	if err != nil {
		return nil, err
	}
	var onConn func(proxy.Peer)
	if ps.OnConnection != nil {
		onConn = func(peer proxy.Peer) { ps.OnConnection(p.Name, peer) }
	}
	px, err := proxy.New(p.Name, p.BaseURL, ps.Tokens, proxy.Options{OnConnection: onConn})
	if err != nil {
		return nil, err
	}
	ln, err := proxy.Listen(addr)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := px.Serve(ln); err != nil {
			log.Printf("proxy %s stopped: %v", p.Name, err)
		}
	}()
	return &runningProxy{address: p.Proxy, baseURL: p.BaseURL, p: px, ln: ln}, nil
}

// Close stops every proxy.
func (ps *Proxies) Close() {
	ps.Sync(nil)
}
