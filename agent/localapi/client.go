package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// ErrNotRunning means no agent answers on the socket.
var ErrNotRunning = errors.New("the Tokentray agent is not running")

// Status is the agent's answer to GET /v1/status.
type Status struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
	// Profiles say what the agent knows of each profile, without secrets,
	// as the event stream does.
	Profiles []auth.Event `json:"profiles"`
}

// TokenResponse is the answer to GET /v1/token: the access token alone; the
// refresh token never leaves the agent. POST /v1/copy leaves AccessToken
// empty.
type TokenResponse struct {
	Profile     string    `json:"profile"`
	AccessToken string    `json:"access_token,omitempty"`
	Expiry      time.Time `json:"expiry"`
	// Scope is what the server granted, when its protocol says.
	Scope string `json:"scope,omitempty"`
}

// APIError is an error the agent answered with.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Client talks to the agent's LocalAPI.
type Client struct {
	socket string
	dialer *net.Dialer
	http   *http.Client // for the event stream
}

// NewClient returns a client for the agent listening on socket.
func NewClient(socket string) *Client {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &Client{
		socket: socket,
		dialer: dialer,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialOwn(ctx, dialer, socket)
			},
		}},
	}
}

// DefaultClient returns a client for the agent at SocketPath.
func DefaultClient() (*Client, error) {
	socket, err := SocketPath()
	if err != nil {
		return nil, err
	}
	return NewClient(socket), nil
}

// Status asks the agent for its state; ErrNotRunning when none answers.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.doWithin(ctx, quickAnswerWait, http.MethodGet, "/v1/status", &s)
	return s, err
}

// Token asks the agent for a valid access token of profile.
func (c *Client) Token(ctx context.Context, profile string) (TokenResponse, error) {
	var t TokenResponse
	err := c.doWithin(ctx, quickAnswerWait, http.MethodGet, "/v1/token?profile="+url.QueryEscape(profile), &t)
	return t, err
}

// Copy asks the agent to put a valid access token of profile on the
// clipboard; the answer has the expiry and no token.
func (c *Client) Copy(ctx context.Context, profile string) (TokenResponse, error) {
	var t TokenResponse
	err := c.do(ctx, http.MethodPost, "/v1/copy?profile="+url.QueryEscape(profile), &t)
	return t, err
}

// CopyHeader is Copy with an "Authorization: Bearer …" header line put
// on the clipboard instead of the bare token.
func (c *Client) CopyHeader(ctx context.Context, profile string) (TokenResponse, error) {
	var t TokenResponse
	err := c.do(ctx, http.MethodPost, "/v1/copy?as=header&profile="+url.QueryEscape(profile), &t)
	return t, err
}

// Refresh asks the agent to renew profile's token now. It returns once the
// agent has started; the outcome shows in Status and Events.
func (c *Client) Refresh(ctx context.Context, profile string) error {
	return c.do(ctx, http.MethodPost, "/v1/refresh?profile="+url.QueryEscape(profile), nil)
}

// Events calls fn with the state of every profile, then with every change,
// until ctx is done (then it returns nil) or the agent ends the stream.
func (c *Client) Events(ctx context.Context, fn func(auth.Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isNotListening(err) || errors.Is(err, errForeignPeer) {
			return ErrNotRunning
		}
		return fmt.Errorf("talking to the Tokentray agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &APIError{Status: resp.StatusCode, Message: "the agent answered " + resp.Status}
	}
	// One event per line, each bounded like any other answer.
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, maxAnswer)
	for lines.Scan() {
		var e auth.Event
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			return fmt.Errorf("reading the agent's events: %w", err)
		}
		fn(e)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("reading the agent's events: %w", err)
	}
	return errors.New("the agent ended the event stream")
}

// Reload tells the agent to read the profiles again.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil)
}

// Open asks the agent to show the GUI window, starting the GUI if needed.
func (c *Client) Open(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/open", nil)
}

// Quit stops the agent and removes its tray icon.
func (c *Client) Quit(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/quit", nil)
}

// maxAnswer bounds an answer of the agent, or one line of its event stream.
const maxAnswer = 1 << 20

// maxAnswerWait bounds a request to the agent without a deadline of its
// own. A token request may wait for a refresh, which the Keeper bounds at
// two minutes.
const maxAnswerWait = 3 * time.Minute

// quickAnswerWait bounds Status and Token without a deadline of their own.
// An agent that does not answer within it is stopped (SIGSTOP, a debugger)
// or hung: they then fail with ErrNotRunning, so that the CLI does the work
// itself, as with no agent. A token the agent was still refreshing is then
// found in the keychain once the agent has saved it: the CLI waits for the
// profile's lock.
const quickAnswerWait = time.Second

// errUnresponsive is the cause of the quickAnswerWait deadline.
var errUnresponsive = errors.New("no answer in time")

// do makes one request on a connection of its own, read on the calling
// goroutine: `tokentray token` makes exactly one call, and http.Client's
// pooled transport costs it goroutine hand-offs worth ~10% of its run.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	return c.doWithin(ctx, maxAnswerWait, method, path, out)
}

// doWithin is do giving the agent wait to answer unless ctx has a deadline;
// past it the agent counts as not running.
func (c *Client) doWithin(ctx context.Context, wait time.Duration, method, path string, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		// An agent that stopped answering must not hang a script.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, wait, errUnresponsive)
		defer cancel()
	}
	err := c.request(ctx, method, path, out)
	if err != nil && errors.Is(context.Cause(ctx), errUnresponsive) {
		return fmt.Errorf("%w: it did not answer within %v (stopped or hung?)", ErrNotRunning, wait)
	}
	return err
}

func (c *Client) request(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, nil)
	if err != nil {
		return err
	}
	conn, err := dialOwn(ctx, c.dialer, c.socket)
	if err != nil {
		if isNotListening(err) || errors.Is(err, errForeignPeer) {
			return ErrNotRunning
		}
		return fmt.Errorf("talking to the Tokentray agent: %w", err)
	}
	defer conn.Close()
	// A cancelled ctx unblocks the read by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req.Close = true
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("talking to the Tokentray agent: %w", errors.Join(ctx.Err(), err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fmt.Errorf("reading the agent's answer: %w", errors.Join(ctx.Err(), err))
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxAnswer)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(body).Decode(&e) != nil || e.Error == "" {
			e.Error = "the agent answered " + resp.Status
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return fmt.Errorf("reading the agent's answer: %w", err)
	}
	return nil
}

// errForeignPeer is what dialOwn returns for a socket another user listens
// on: root, say, with this user's XDG_RUNTIME_DIR, as `su` leaves it.
var errForeignPeer = errors.New("another user listens on the socket")

// dialOwn (dial_unix.go, listen_windows.go) connects to socket and makes
// sure that a process of this user listens there: whatever another user
// serves (a token of their choosing) is not the agent's.

// isNotListening tells a missing or stale socket, which means no agent, from
// an agent that answered badly.
func isNotListening(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist)
}

// EnsureRunning starts the agent (the tokentray executable beside this one)
// when none answers, and waits until it does.
func EnsureRunning(ctx context.Context, c *Client) error {
	if _, err := c.Status(ctx); err == nil || !errors.Is(err, ErrNotRunning) {
		return err
	}
	exe, err := Sibling("tokentray")
	if err != nil {
		return err
	}
	if err := StartDetached(exe, "agent"); err != nil {
		return fmt.Errorf("starting the Tokentray agent %s: %w", exe, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := c.Status(ctx)
		if err == nil || !errors.Is(err, ErrNotRunning) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Tokentray agent did not start: see %s", LogPath())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogPath is where a detached agent or GUI writes its log.
func LogPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "tokentray", "tokentray.log")
}
