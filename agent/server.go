package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

// Server serves the LocalAPI.
type Server struct {
	Tokens    *Tokens
	Clipboard *clipboard.Clipboard // nil: POST /v1/copy is not served
	OnReload  func()               // after the profiles were read again
	OnOpen    func() error         // show the GUI
	OnQuit    func()

	streams atomic.Int32 // event streams being served
}

// Handler routes the LocalAPI.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /v1/token", s.token)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("POST /v1/refresh", s.refresh)
	mux.HandleFunc("POST /v1/copy", s.copy)
	mux.HandleFunc("POST /v1/tested", s.tested)
	mux.HandleFunc("POST /v1/reload", s.reload)
	mux.HandleFunc("POST /v1/open", s.open)
	mux.HandleFunc("POST /v1/quit", s.quit)
	return mux
}

// Limits of the LocalAPI, so that a client that opens connections and sends
// nothing, or stops reading its event stream, cannot exhaust the agent's
// descriptors or stall it.
const (
	// maxConns bounds the open connections. Past it, the one waiting
	// longest for a request is closed to make room, so a new client (the
	// CLI sends its request at once) is still answered at once.
	maxConns = 64
	// maxEventStreams bounds the event streams, which stay open: the window
	// and a few tools need one each, and the rest of maxConns stays free
	// for requests.
	maxEventStreams = 16
	// eventWriteWait bounds each write to an event stream: a reader that
	// stopped reading is dropped instead of holding a goroutine and a
	// descriptor for good.
	eventWriteWait = 10 * time.Second
)

// Serve answers LocalAPI requests on ln until it is closed.
func (s *Server) Serve(ln net.Listener) error {
	// No overall write timeout: the event stream lasts as long as its
	// reader (each of its writes has one). The requests have no bodies, so
	// small headers are all a client may send.
	conns := &connCap{max: maxConns, open: map[net.Conn]*connInfo{}}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10, ConnContext: withConn, ConnState: conns.track}
	return srv.Serve(ln)
}

// connCap keeps at most max connections open. http.Server reports each
// connection's state to track, a new one before its first read, on the
// accepting goroutine; so a flood is closed as fast as it comes.
type connCap struct {
	mu   sync.Mutex
	max  int
	open map[net.Conn]*connInfo
}

type connInfo struct {
	waiting bool      // new or idle: no request in hand, safe to close
	since   time.Time // when it started waiting
}

func (c *connCap) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew:
		c.open[conn] = &connInfo{waiting: true, since: time.Now()}
		if len(c.open) > c.max {
			c.evict(conn)
		}
	case http.StateActive:
		if info := c.open[conn]; info != nil {
			info.waiting = false
		}
	case http.StateIdle:
		if info := c.open[conn]; info != nil {
			info.waiting, info.since = true, time.Now()
		}
	case http.StateHijacked, http.StateClosed:
		delete(c.open, conn)
	}
}

// evict closes the connection that has waited longest for a request, other
// than newest; newest itself when every other is serving one.
func (c *connCap) evict(newest net.Conn) {
	var oldest net.Conn
	var since time.Time
	for conn, info := range c.open {
		if conn != newest && info.waiting && (oldest == nil || info.since.Before(since)) {
			oldest, since = conn, info.since
		}
	}
	if oldest == nil {
		oldest = newest
	}
	oldest.Close()
	delete(c.open, oldest)
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, localapi.Status{Version: auth.Version, PID: os.Getpid(), Profiles: s.Tokens.Events()})
}

// events streams one JSON auth.Event per line: first the state of every
// profile, then each change as it happens, until the client hangs up (or
// falls too far behind, when it should reconnect).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.streams.Add(1) > maxEventStreams {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("the agent serves %d event streams already; close one", maxEventStreams))
		return
	}
	defer s.streams.Add(-1)
	ch, unsubscribe := s.Tokens.Subscribe()
	defer unsubscribe()
	if ch == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("the agent is stopping"))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(eventWriteWait))
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, e := range s.Tokens.Events() {
		if enc.Encode(e) != nil {
			return
		}
	}
	for {
		if rc.Flush() != nil {
			return
		}
		select {
		case e, ok := <-ch:
			if !ok || rc.SetWriteDeadline(time.Now().Add(eventWriteWait)) != nil || enc.Encode(e) != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// refresh renews a profile's token now; it answers at once, and the
// outcome shows in the status and the event stream.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	name, ok := profileParam(w, r)
	if !ok {
		return
	}
	if err := s.Tokens.RefreshNow(name); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, profile.ErrUnknown) {
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	name, ok := profileParam(w, r)
	if !ok {
		return
	}
	tok, err := s.Tokens.Token(r.Context(), name)
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	channel := access.ChannelToken
	if r.URL.Query().Get("via") == access.ChannelExec {
		channel = access.ChannelExec
	}
	s.Tokens.Record(name, channel, callerPID(r.Context()))
	writeJSON(w, http.StatusOK, localapi.TokenResponse{Profile: name, AccessToken: tok.AccessToken, Expiry: tok.Expiry, Scope: tok.Scope})
}

// copy puts the token on the clipboard from the agent, so that it survives
// the window that asked for it; the answer carries the expiry, not the token.
func (s *Server) copy(w http.ResponseWriter, r *http.Request) {
	name, ok := profileParam(w, r)
	if !ok {
		return
	}
	if s.Clipboard == nil {
		writeError(w, http.StatusNotImplemented, errors.New("this agent has no clipboard"))
		return
	}
	var tok auth.Token
	var err error
	switch as := r.URL.Query().Get("as"); as {
	case "", "token":
		tok, err = copyToken(r.Context(), s.Tokens, s.Clipboard, name)
	case "header":
		tok, err = copyHeader(r.Context(), s.Tokens, s.Clipboard, name)
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("copy as %q: say as=token or as=header", as))
		return
	}
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, localapi.TokenResponse{Profile: name, Expiry: tok.Expiry, Scope: tok.Scope})
}

// tested records that the window's Test was granted a token: the window
// fetched it itself, with the form's values, so the profile may not be
// saved yet.
func (s *Server) tested(w http.ResponseWriter, r *http.Request) {
	name, ok := profileParam(w, r)
	if !ok {
		return
	}
	if err := store.ValidateProfileName(name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.Tokens.Record(name, access.ChannelTest, callerPID(r.Context()))
	writeJSON(w, http.StatusOK, struct{}{})
}

func profileParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.URL.Query().Get("profile")
	if name == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("name a profile: %s?profile=NAME", r.URL.Path))
	}
	return name, name != ""
}

func (s *Server) reload(w http.ResponseWriter, _ *http.Request) {
	if err := s.Tokens.Reload(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if s.OnReload != nil {
		s.OnReload()
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) open(w http.ResponseWriter, _ *http.Request) {
	if s.OnOpen == nil {
		writeError(w, http.StatusNotImplemented, errors.New("this agent cannot open the window"))
		return
	}
	if err := s.OnOpen(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) quit(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct{}{})
	if s.OnQuit != nil {
		// After the answer is on its way, so the caller sees success.
		go s.OnQuit()
	}
}

// statusFor maps a token error to the HTTP status the client turns back into
// an exit code: 404 unknown profile, 403 the user must act, 502 otherwise.
func statusFor(err error) int {
	switch {
	case errors.Is(err, profile.ErrUnknown):
		return http.StatusNotFound
	case auth.ActionOf(err) == auth.NeedsUser:
		return http.StatusForbidden
	default:
		return http.StatusBadGateway
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{err.Error()})
}
