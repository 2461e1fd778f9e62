package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
)

// KeychainTimeout bounds every call to the OS keychain: long enough for a
// person to answer an unlock prompt, and no longer, so that a keychain
// that never answers (a wedged daemon, a prompt nobody sees) costs a
// command this much and then a clear error instead of a hang.
const KeychainTimeout = 30 * time.Second

// timeoutEnv shortens KeychainTimeout for the tests that run the commands
// against a keychain that never answers, so that they take seconds.
const timeoutEnv = "TOKENTRAY_TEST_KEYCHAIN_TIMEOUT"

var keychainTimeout = sync.OnceValue(func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(timeoutEnv)); err == nil && d > 0 {
		return d
	}
	return KeychainTimeout
})

// unstartableFor is how long a Secret Service that could not be started is
// taken to stay so: a command tries once (each try can cost the bus's
// activation timeout), the agent once in this long, so a keyring installed
// or repaired meanwhile is found without a restart.
const unstartableFor = 5 * time.Minute

// ErrNotAnswering is wrapped by the error of a keychain call that got no
// answer within KeychainTimeout. It is auth's, so that the Keeper can show
// the profile as waiting for the keychain rather than for the user.
var ErrNotAnswering = auth.ErrKeychainNotAnswering

// bounded gives each call to the OS keychain a deadline. go-keyring's calls
// take no context and godbus waits for their replies without one, so the
// call runs on a goroutine of its own that is left behind at the
// deadline; the gate lets at most one such call be in flight per process,
// so a keychain that never answers costs one goroutine and no connection
// (go-keyring shares godbus's session bus connection), whatever the
// retries. go-keyring is kept, not replaced by Secret Service calls with
// contexts of our own, so that the deadline holds on every platform and
// keyring.MockInit keeps working for the tests above store; the one part
// that needs a context, starting the Secret Service, is start's.
type bounded struct {
	kr keyring.Keyring
	// start, when not nil, runs before each call and makes sure the
	// keychain runs (startKeychain).
	start func(context.Context) error
}

func (b bounded) do(call func() error) error {
	return osKeychain.do(func(ctx context.Context) error {
		if b.start != nil {
			if err := b.start(ctx); err != nil {
				return err
			}
		}
		return call()
	})
}

func (b bounded) Get(service, user string) (string, error) {
	var v string
	err := b.do(func() (err error) {
		v, err = b.kr.Get(service, user)
		return err
	})
	if err != nil {
		return "", err // v may still be written by a call left behind
	}
	return v, nil
}

func (b bounded) Set(service, user, password string) error {
	return b.do(func() error { return b.kr.Set(service, user, password) })
}

func (b bounded) Delete(service, user string) error {
	return b.do(func() error { return b.kr.Delete(service, user) })
}

func (b bounded) DeleteAll(service string) error {
	return b.do(func() error { return b.kr.DeleteAll(service) })
}

// gate admits one keychain call at a time and remembers what makes the
// next ones fail at once: a call still in flight past its deadline, and a
// Secret Service the bus could not start.
type gate struct {
	mu    sync.Mutex
	busy  chan struct{} // closed when the call in flight returns; nil when none
	since time.Time     // when the call in flight started
	stuck bool          // the call in flight outlived its deadline
	// unstartable is why the Secret Service could not be started, and
	// unstartableAt when; nil when it could.
	unstartable   error
	unstartableAt time.Time
	// noticeAfter and notice: see OnKeychainWait.
	noticeAfter time.Duration
	notice      func()
}

// osKeychain is the gate of every call to the OS keychain in this process.
var osKeychain gate

// OnKeychainWait has notice called when a keychain call has waited for
// after: the CLI then says on standard error that it waits for the
// keychain, whose unlock prompt may be open. notice runs on a goroutine of
// its own, once for each call that waits that long.
func OnKeychainWait(after time.Duration, notice func()) {
	osKeychain.mu.Lock()
	defer osKeychain.mu.Unlock()
	osKeychain.noticeAfter, osKeychain.notice = after, notice
}

// do runs call under the gate, within keychainTimeout (the wait for the
// gate included); ctx ends at that deadline. The call's result is used
// only when it comes in time: what the closure writes must not be read
// after an error.
func (g *gate) do(call func(context.Context) error) error {
	timeout := keychainTimeout()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	g.mu.Lock()
	if g.notice != nil {
		defer time.AfterFunc(g.noticeAfter, g.notice).Stop()
	}
	for g.busy != nil {
		if g.stuck {
			defer g.mu.Unlock()
			return stuckError(time.Since(g.since))
		}
		busy := g.busy
		g.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return notAnsweringError(timeout)
		}
		g.mu.Lock()
	}
	if g.unstartable != nil && time.Since(g.unstartableAt) < unstartableFor {
		defer g.mu.Unlock()
		return g.unstartable
	}
	busy := make(chan struct{})
	g.busy, g.since, g.stuck = busy, time.Now(), false
	g.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		err := call(ctx)
		g.mu.Lock()
		close(busy)
		g.busy, g.stuck = nil, false
		if why := cannotStart(err); why != nil {
			g.unstartable, g.unstartableAt = why, time.Now()
			err = why
		}
		done <- err // under the lock: see the deadline's case below
		g.mu.Unlock()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case err := <-done: // answered as the deadline passed
		return err
	default:
	}
	g.stuck = true
	return notAnsweringError(timeout)
}

// keychainDown is an error of the gate's own: the keychain did not answer
// in time, or could not be started. Its words are Tokentray's and name
// what to do, so Keychain.explain passes it on as it is.
type keychainDown struct {
	err        error
	notStarted bool // the Secret Service could not be started (cannotStart)
}

func (e *keychainDown) Error() string { return e.err.Error() }
func (e *keychainDown) Unwrap() error { return e.err }

// notAnsweringError is the error of a call that waited timeout in vain.
func notAnsweringError(timeout time.Duration) error {
	return &keychainDown{err: fmt.Errorf("%s did not answer within %s (%w): %s", keychainName(), timeout, ErrNotAnswering, notAnsweringRemedy())}
}

// stuckError is the error of a call not made because an earlier one has
// waited for the keychain for waited already.
func stuckError(waited time.Duration) error {
	return &keychainDown{err: fmt.Errorf("%s has not answered a call made %s ago (%w): %s", keychainName(), waited.Round(time.Second), ErrNotAnswering, notAnsweringRemedy())}
}

// keychainName names the OS keychain as its owner's tools do.
func keychainName() string {
	switch runtime.GOOS {
	case "darwin":
		return "the macOS keychain"
	case "windows":
		return "Windows Credential Manager"
	default:
		return "the keychain (Secret Service, org.freedesktop.secrets on the session bus)"
	}
}

func notAnsweringRemedy() string {
	switch runtime.GOOS {
	case "darwin":
		return "answer or cancel the keychain prompt if one is open (it may be behind other windows), or unlock the login keychain in Keychain Access, then try again"
	case "windows":
		return "answer the Windows security prompt if one is open, then try again"
	default:
		return "unlock it if an unlock prompt is open (it may be behind other windows or on another screen); otherwise check that gnome-keyring or KWallet runs and is not stuck (restarting it or logging in again helps), then try again"
	}
}
