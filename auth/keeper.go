package auth

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of KeeperOptions.
const (
	// DefaultMinBackoff is the first retry delay: short enough that a blip
	// costs a second, long enough not to hammer a struggling server.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the retry delay: an outage that lasts is still
	// noticed to be over within five minutes.
	DefaultMaxBackoff = 5 * time.Minute
)

const (
	// refreshShare of a token's lifetime passes before it is refreshed.
	refreshShare = 0.8
	// jitterShare of the lifetime is the most a refresh is moved earlier, so
	// that profiles obtained together do not fire together.
	jitterShare = 0.05
	// jumpThreshold is how far the wall clock may drift from the timer's
	// monotonic wait before the Keeper assumes a suspend or a clock step.
	jumpThreshold = time.Minute
	// refreshTimeout bounds one refresh, the wait for the lock included, so
	// that a hung peer or server cannot stall a profile for ever.
	refreshTimeout = 2 * time.Minute
	// retryGuard is how long before expiry the last retry is made while a
	// token is still valid, so that its success comes in time.
	retryGuard = 5 * time.Second
	// explicitRetryFloor is how soon after a failure someone asking (Refresh
	// now, a token wanted with none valid) gets a new request, whatever the
	// server's Retry-After or the backoff say: short enough to wait out,
	// long enough that a script asking in a loop cannot hammer the server.
	explicitRetryFloor = 3 * time.Second
)

// ErrUnknownProfile is wrapped by Keeper.Token and RefreshNow for a profile
// the Keeper was not given.
var ErrUnknownProfile = errors.New("unknown profile")

// ErrKeeperClosed is returned by a Keeper after Close.
var ErrKeeperClosed = errors.New("the token keeper is closed")

// State is what a Keeper knows of one profile.
type State int

// The states of a profile. Its last good token is served in every state
// while it is valid.
const (
	StateNone       State = iota // no token yet
	StateValid                   // a token is held and its refresh is scheduled
	StateRefreshing              // a refresh is in flight
	StateRetrying                // the last refresh failed; another is scheduled
	StateNeedsUser               // the credentials were refused; nothing is scheduled
	// StateKeychain: the store did not answer (ErrKeychainNotAnswering);
	// retried like StateRetrying. It comes last so that the numbers and
	// words of the others stay as older readers know them; in an Event's
	// JSON it reads as StateRetrying to them (see eventJSON).
	StateKeychain
)

var stateNames = [...]string{"none", "valid", "refreshing", "retrying", "needs user", "keychain not answering"}

// String is the state in lower-case words, as the LocalAPI and the CLI show it.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText writes the state as its String, so JSON carries words.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	i := slices.Index(stateNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown token state %q", b)
	}
	*s = State(i)
	return nil
}

// Event is the state of one profile, as reported by Status and OnEvent. It
// carries no secret.
type Event struct {
	Profile string    `json:"profile"`
	State   State     `json:"state"`
	Expiry  time.Time `json:"expiry,omitzero"`   // of the token held; zero when none
	RetryAt time.Time `json:"retry_at,omitzero"` // when Retrying or Keychain: the next attempt
	Err     string    `json:"error,omitempty"`   // when Retrying, NeedsUser or Keychain
	// Refused is why the API the token is for refuses the token held, as
	// reported with Keeper.Refused: a state of its own would hide that
	// the token is valid where it was granted.
	Refused string `json:"refused,omitempty"`
}

// eventJSON is Event on the wire. StateKeychain travels as "retrying" with
// Waiting "keychain": a reader older than that state refuses a state word
// it does not know, and so reads a profile that is being retried, which it
// is; a newer reader reads StateKeychain back.
type eventJSON struct {
	Profile string    `json:"profile"`
	State   State     `json:"state"`
	Waiting string    `json:"waiting,omitempty"` // "keychain" for StateKeychain
	Expiry  time.Time `json:"expiry,omitzero"`
	RetryAt time.Time `json:"retry_at,omitzero"`
	Err     string    `json:"error,omitempty"`
	Refused string    `json:"refused,omitempty"`
}

const waitingKeychain = "keychain"

// MarshalJSON writes e as older readers can read it too (see eventJSON).
func (e Event) MarshalJSON() ([]byte, error) {
	w := eventJSON{Profile: e.Profile, State: e.State, Expiry: e.Expiry, RetryAt: e.RetryAt, Err: e.Err, Refused: e.Refused}
	if e.State == StateKeychain {
		w.State, w.Waiting = StateRetrying, waitingKeychain
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w eventJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.State == StateRetrying && w.Waiting == waitingKeychain {
		w.State = StateKeychain
	}
	*e = Event{Profile: w.Profile, State: w.State, Expiry: w.Expiry, RetryAt: w.RetryAt, Err: w.Err, Refused: w.Refused}
	return nil
}

// Locker serialises the refreshes of one profile across processes, so that
// only one of them spends a refresh token. Lock blocks until the profile is
// free or ctx is done.
type Locker interface {
	Lock(ctx context.Context, profile string) (unlock func(), err error)
}

// KeeperOptions tune a Keeper; the zero value is the production setting.
type KeeperOptions struct {
	Clock  Clock  // nil: SystemClock
	Locker Locker // nil: refreshes are serialised within this process only
	// OnEvent is called on every change of a profile's state, expiry or
	// error, one call at a time, in order, never with the Keeper locked. It
	// should return quickly: events queue up behind it.
	OnEvent func(Event)
	// Margin is how long a token must stay valid to be handed out, and the
	// latest a refresh happens before expiry; 0 means DefaultMargin.
	Margin time.Duration
	// MinBackoff and MaxBackoff bound the delay before retrying a failed
	// refresh; 0 means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Rand returns a number in [0, 1) for jitter; nil means math/rand/v2.
	// It is called with the Keeper locked, so it need not be safe for
	// concurrent use.
	Rand func() float64
}

// Keeper keeps the token of every profile fresh in the background: one timer
// for all profiles, armed for the earliest refresh due, so that an idle
// Keeper never wakes up. A profile is refreshed once 80% of its token's
// lifetime has passed (less a jitter of up to 5%), and at the latest Margin
// before expiry. Failures are retried with exponential backoff while the
// last good token goes on being served. Every refresh takes the Locker and
// goes through Fresh, so the rotated refresh token is saved before the new
// access token is handed out, and a process that lost the race to another
// finds the other's token in the store and makes no request.
type Keeper struct {
	st                     TokenStore
	clock                  Clock
	locker                 Locker
	onEvent                func(Event)
	margin                 time.Duration
	minBackoff, maxBackoff time.Duration
	rand                   func() float64

	ctx    context.Context // cancelled by Close: ends the refreshes in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup // the refreshes in flight
	emitMu sync.Mutex     // held by the one goroutine delivering events

	mu       sync.Mutex
	profiles map[string]*kept
	queue    dueQueue
	// locks serialise the refreshes of a profile within this process, also
	// across a Set that replaced its flow while a refresh was in flight.
	locks     map[string]*sync.Mutex
	timer     Stopper
	timerGen  uint64    // tells a stale timer's call from the current one
	timerDue  time.Time // what the timer is armed for
	armedWall time.Time // the wall clock when it was armed
	armedFor  time.Duration
	pending   []Event // for flush to deliver
	closed    bool
}

// kept is one profile. name and flow never change: Set replaces the whole
// kept when the flow changes, so a refresh in flight can tell it is stale.
type kept struct {
	name string
	flow Flow

	tok       Token     // the last good token
	obtained  time.Time // when tok was obtained or loaded: its lifetime starts here
	state     State
	err       error     // of the last refresh, when it failed
	failures  int       // in a row, for the backoff
	retryAt   time.Time // when Retrying
	failedAt  time.Time // of the last failed refresh
	notBefore time.Time // the server's Retry-After, capped: no scheduled request before
	due       time.Time // when the timer should start the next refresh
	index     int       // in the queue; -1 when not scheduled
	call      *call     // the refresh in flight
	last      Event     // as last reported
	refused   string    // why the API refuses tok (Refused); "" when not known to
}

// retrying reports whether p's last refresh failed and another is
// scheduled.
func (p *kept) retrying() bool { return p.state == StateRetrying || p.state == StateKeychain }

// call is a refresh in flight; everyone who asked for the token waits on done.
type call struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewKeeper returns a Keeper that persists through st. It keeps nothing
// until Set gives it profiles.
func NewKeeper(st TokenStore, opt KeeperOptions) *Keeper {
	k := &Keeper{
		st:         st,
		clock:      cmp(opt.Clock, SystemClock),
		locker:     opt.Locker,
		onEvent:    opt.OnEvent,
		margin:     cmp(opt.Margin, DefaultMargin),
		minBackoff: cmp(opt.MinBackoff, DefaultMinBackoff),
		maxBackoff: cmp(opt.MaxBackoff, DefaultMaxBackoff),
		rand:       opt.Rand,
		profiles:   map[string]*kept{},
		locks:      map[string]*sync.Mutex{},
	}
	if k.rand == nil {
		k.rand = rand.Float64
	}
	k.maxBackoff = max(k.maxBackoff, k.minBackoff)
	k.ctx, k.cancel = context.WithCancel(context.Background())
	return k
}

// cmp is v, or def when v is the zero value.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Set replaces the profiles kept, after the configuration was read again.
// New profiles are loaded (or acquired) right away, removed ones dropped.
// A profile whose flow is unchanged (reflect.DeepEqual) keeps its token and
// schedule; one with another flow starts afresh, since its token was granted
// for other credentials. A profile that needed the user is tried again.
func (k *Keeper) Set(flows map[string]Flow) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	now := k.now()
	for name, p := range k.profiles {
		if _, ok := flows[name]; !ok {
			k.unschedule(p)
			// Its lock stays: a refresh of it may still be in flight.
			delete(k.profiles, name)
		}
	}
	for name, f := range flows {
		p, ok := k.profiles[name]
		switch {
		case ok && reflect.DeepEqual(p.flow, f):
			if p.state == StateNeedsUser && p.call == nil {
				p.failures = 0
				k.schedule(p, now)
			}
			continue
		case ok:
			k.unschedule(p)
		}
		p = &kept{name: name, flow: f, index: -1}
		k.profiles[name] = p
		k.schedule(p, now)
		k.report(p)
	}
	k.arm(now)
	k.mu.Unlock()
	k.flush()
}

// Token returns a token of profile valid for at least the margin, or the
// last good one when it cannot be renewed and is still valid. When a refresh
// is in flight it waits for that one instead of starting another. A profile
// that needs the user gets the last error and no request; one retrying
// without a valid token gets a request, whatever the backoff or the server's
// Retry-After say, unless the last failure is less than a few seconds old
// (then the last error).
func (k *Keeper) Token(ctx context.Context, profile string) (Token, error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return Token{}, ErrKeeperClosed
	}
	p, ok := k.profiles[profile]
	if !ok {
		k.mu.Unlock()
		return Token{}, fmt.Errorf("%w %q", ErrUnknownProfile, profile)
	}
	now := k.now()
	if p.tok.ValidFor(now, k.effMargin(p)) {
		defer k.mu.Unlock()
		return p.tok, nil
	}
	c := p.call
	if c == nil {
		waiting := p.state == StateNeedsUser || p.retrying() &&
			(p.tok.ValidFor(now, 0) || now.Before(p.retryAt) && now.Before(p.failedAt.Add(explicitRetryFloor)))
		if waiting {
			defer k.mu.Unlock()
			if p.tok.ValidFor(now, 0) {
				return p.tok, nil
			}
			return Token{}, fmt.Errorf("profile %s: %w", profile, p.err)
		}
		c = k.start(p, now)
		k.arm(now)
	}
	k.mu.Unlock()
	k.flush()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// RefreshNow renews profile's token now, whatever its state, unless a
// refresh is in flight. After a server's Retry-After it waits only until a
// few seconds have passed since the failure: the person asked, and a server
// may ask for much longer than anyone should wait.
func (k *Keeper) RefreshNow(profile string) error {
	k.mu.Lock()
	p, ok := k.profiles[profile]
	switch {
	case k.closed:
		k.mu.Unlock()
		return ErrKeeperClosed
	case !ok:
		k.mu.Unlock()
		return fmt.Errorf("%w %q", ErrUnknownProfile, profile)
	}
	now := k.now()
	if p.call == nil {
		p.failures = 0
		if at := minTime(p.notBefore, p.failedAt.Add(explicitRetryFloor)); now.Before(at) {
			if p.retrying() {
				p.retryAt = at
			}
			k.schedule(p, at)
		} else {
			k.start(p, now)
		}
		k.arm(now)
	}
	k.mu.Unlock()
	k.flush()
	return nil
}

// Refused notes that the API the token is for refuses profile's token
// accessToken although it was granted and has not expired (a wrong scope,
// a base URL that needs other credentials), and why, in words without a
// secret; why "" says that it accepts it again. The note shows in the
// profile's Event as Refused until then, or until a new token replaces
// that one; a note about a token no longer held is ignored. The agent's
// proxy reports a 401 that a renewal did not cure.
func (k *Keeper) Refused(profile, accessToken, why string) {
	k.mu.Lock()
	p, ok := k.profiles[profile]
	if k.closed || !ok || p.tok.AccessToken != accessToken || p.refused == why {
		k.mu.Unlock()
		return
	}
	p.refused = why
	k.report(p)
	k.mu.Unlock()
	k.flush()
}

// Recheck re-examines every profile against the wall clock now: tokens that
// lapsed meanwhile are renewed and failed refreshes are retried (Retry-After
// permitting). The agent calls it on resume and on network changes; the
// Keeper calls it itself when it notices the wall clock jump.
func (k *Keeper) Recheck() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	now := k.now()
	k.recheck(now)
	k.arm(now)
	k.mu.Unlock()
	k.flush()
}

// Status returns every profile's state, sorted by name.
func (k *Keeper) Status() []Event {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Event, 0, len(k.profiles))
	for _, p := range k.profiles {
		out = append(out, k.event(p))
	}
	slices.SortFunc(out, func(a, b Event) int { return strings.Compare(a.Profile, b.Profile) })
	return out
}

// Close stops the timer, cancels the refreshes in flight and waits for them.
// Waiting Token calls return; later calls fail with ErrKeeperClosed.
func (k *Keeper) Close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.timerGen++
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
	k.mu.Unlock()
	k.cancel()
	k.wg.Wait()
}

// now is the wall clock alone. Expiry times come from servers and are wall
// times; mixing in the monotonic reading would make due times drift from
// them by the length of every suspend.
func (k *Keeper) now() time.Time { return k.clock.Now().Round(0) }

// fire is the timer: it starts every refresh that is due and re-arms.
func (k *Keeper) fire(gen uint64) {
	k.mu.Lock()
	if k.closed || gen != k.timerGen {
		k.mu.Unlock()
		return
	}
	k.timer = nil
	now := k.now()
	// The timer waited armedFor on the monotonic clock, which neither runs
	// during a suspend nor follows a step of the wall clock: a wall clock
	// that moved by more or less than that jumped.
	if jump := now.Sub(k.armedWall) - k.armedFor; jump > jumpThreshold || jump < -jumpThreshold {
		k.recheck(now)
	}
	for len(k.queue) > 0 && !k.queue[0].due.After(now) {
		k.start(k.queue[0], now)
	}
	k.arm(now)
	k.mu.Unlock()
	k.flush()
}

// recheck brings every due refresh to now and every retry forward, and has
// the timer re-armed from the wall clock. A retry comes no earlier than the
// server's Retry-After, nor than halfway through its backoff window after
// the failure (where backoff's jitter puts it on average): so a storm of
// triggers (faked resumes, a flapping network) cannot make a failing
// profile's requests more frequent than backoff does.
func (k *Keeper) recheck(now time.Time) {
	for _, p := range k.profiles {
		if p.index >= 0 && (p.retrying() || !p.tok.ValidFor(now, k.effMargin(p))) {
			at := maxTime(now, p.notBefore)
			if p.retrying() {
				at = maxTime(at, p.failedAt.Add(k.ceiling(p.failures)/2))
				at = minTime(at, p.retryAt)
				p.retryAt = at
			}
			k.schedule(p, at)
		}
	}
	k.timerGen++
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
}

// arm points the one timer at the earliest due time, or stops it when
// nothing is scheduled.
func (k *Keeper) arm(now time.Time) {
	if len(k.queue) == 0 {
		if k.timer != nil {
			k.timerGen++
			k.timer.Stop()
			k.timer = nil
		}
		return
	}
	due := k.queue[0].due
	if k.timer != nil && due.Equal(k.timerDue) {
		return
	}
	if k.timer != nil {
		k.timer.Stop()
	}
	k.timerGen++
	gen := k.timerGen
	k.timerDue, k.armedWall, k.armedFor = due, now, max(due.Sub(now), 0)
	k.timer = k.clock.AfterFunc(k.armedFor, func() { k.fire(gen) })
}

// start begins a refresh of p, which must have none in flight.
func (k *Keeper) start(p *kept, now time.Time) *call {
	k.unschedule(p)
	// need makes Fresh ask the server unless the store holds a newer token
	// than p's, which another process obtained meanwhile.
	need := k.effMargin(p)
	if p.tok.AccessToken != "" {
		need = max(need, p.tok.Expiry.Sub(now)+time.Second)
	}
	c := &call{done: make(chan struct{})}
	p.call = c
	p.state = StateRefreshing
	k.report(p)
	lock, ok := k.locks[p.name]
	if !ok {
		lock = &sync.Mutex{}
		k.locks[p.name] = lock
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		tok, err := k.refresh(lock, p, need)
		k.mu.Lock()
		c.tok, c.err = k.finish(p, tok, err)
		p.call = nil
		close(c.done)
		if !k.closed {
			k.arm(k.now())
		}
		k.mu.Unlock()
		k.flush()
	}()
	return c
}

// refresh runs Fresh under the process's and the cross-process lock. When
// the server failed but the stored token is still valid, Fresh serves that
// token; refresh returns it together with the error, so that the failure is
// retried.
func (k *Keeper) refresh(lock *sync.Mutex, p *kept, need time.Duration) (Token, error) {
	profile := p.name
	ctx, cancel := context.WithTimeout(k.ctx, refreshTimeout)
	defer cancel()
	lock.Lock()
	defer lock.Unlock()
	if k.locker != nil {
		unlock, err := k.locker.Lock(ctx, profile)
		if err != nil {
			return Token{}, fmt.Errorf("waiting for the lock of profile %s: %w", profile, err)
		}
		defer unlock()
	}
	// The profile may have been removed or re-added with other credentials
	// while this waited for the lock: then a request would save a grant
	// nobody owns, after `tokentray remove` deleted its entries.
	k.mu.Lock()
	dropped := k.closed || k.profiles[profile] != p
	k.mu.Unlock()
	if dropped {
		return Token{}, fmt.Errorf("%w: %s was removed or changed", ErrUnknownProfile, profile)
	}
	rec := &recordingFlow{Flow: p.flow}
	tok, err := Fresh(ctx, rec, k.st, profile, k.now(), need)
	if err == nil && rec.err != nil {
		return tok, rec.err
	}
	return tok, err
}

// finish records the outcome of a refresh of p and schedules the next one.
// It returns what Token hands out: the new token, else the last good one
// while valid, else the error.
func (k *Keeper) finish(p *kept, tok Token, err error) (Token, error) {
	now := k.now()
	if k.closed || k.profiles[p.name] != p {
		// Dropped by Close or Set meanwhile: answer the waiters, keep nothing.
		if err != nil && tok.ValidFor(now, 0) {
			return tok, nil
		}
		return tok, err
	}
	if tok.AccessToken != "" && tok.AccessToken != p.tok.AccessToken {
		p.tok, p.obtained, p.refused = tok, now, ""
	}
	if err == nil {
		p.state, p.err, p.failures = StateValid, nil, 0
		p.retryAt, p.failedAt, p.notBefore = time.Time{}, time.Time{}, time.Time{}
		k.schedule(p, k.dueTime(p, now))
		k.report(p)
		return tok, nil
	}
	p.err, p.failedAt = err, now
	if ActionOf(err) == NeedsUser {
		p.state, p.retryAt = StateNeedsUser, time.Time{}
	} else {
		p.failures++
		if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > 0 {
			p.notBefore = now.Add(k.serverWait(p, now, e.RetryAfter))
		}
		at := now.Add(k.backoff(p.failures))
		// The last try before expiry must come while the token still
		// works, so that its success means no gap.
		if latest := p.tok.Expiry.Add(-min(retryGuard, p.tok.Expiry.Sub(p.obtained)/10)); p.tok.ValidFor(now, 0) && latest.After(now) && at.After(latest) {
			at = latest
		}
		at = maxTime(at, p.notBefore)
		p.state, p.retryAt = StateRetrying, at
		if errors.Is(err, ErrKeychainNotAnswering) {
			p.state = StateKeychain
		}
		k.schedule(p, at)
	}
	k.report(p)
	if p.tok.ValidFor(now, 0) {
		return p.tok, nil
	}
	return Token{}, fmt.Errorf("profile %s: %w", p.name, err)
}

// serverWait is how long a server's Retry-After of asked holds p's next
// scheduled request back: at most MaxBackoff, so that one answer cannot
// stall a profile longer than an outage would, and while p's token is valid
// never past its expiry less the margin, so that the refresh still comes
// while it works.
func (k *Keeper) serverWait(p *kept, now time.Time, asked time.Duration) time.Duration {
	wait := min(asked, k.maxBackoff)
	if p.tok.ValidFor(now, 0) {
		wait = min(wait, max(p.tok.Expiry.Add(-k.effMargin(p)).Sub(now), 0))
	}
	return wait
}

// effMargin is the margin for p's token. A token living less than twice the
// margin gets half its lifetime instead; otherwise it would be due the
// moment it arrives, and refreshed in a loop.
func (k *Keeper) effMargin(p *kept) time.Duration {
	if p.tok.AccessToken == "" {
		return k.margin
	}
	return min(k.margin, p.tok.Expiry.Sub(p.obtained)/2)
}

// dueTime is when p's token should be refreshed: at 80% of its lifetime and
// no later than the margin before expiry, moved earlier by a jitter of up to
// 5% of the lifetime.
func (k *Keeper) dueTime(p *kept, now time.Time) time.Time {
	life := p.tok.Expiry.Sub(p.obtained)
	at := min(time.Duration(float64(life)*refreshShare), life-k.effMargin(p))
	at -= time.Duration(k.rand() * jitterShare * float64(life))
	due := p.obtained.Add(at)
	if !due.After(now) {
		// A token that arrived expired (a skewed server clock): do not spin.
		due = now.Add(k.minBackoff)
	}
	return due
}

// backoff is the delay before retry n (from 1): a random point between
// MinBackoff and a ceiling that doubles with every failure up to MaxBackoff
// ("full jitter", floored so that retries never come back to back).
func (k *Keeper) backoff(n int) time.Duration {
	return k.minBackoff + time.Duration(k.rand()*float64(k.ceiling(n)-k.minBackoff))
}

// ceiling is the longest delay before retry n (from 1): MinBackoff doubled
// n-1 times, up to MaxBackoff. The shift is taken only where its result
// stays within MaxBackoff, so that it cannot overflow.
func (k *Keeper) ceiling(n int) time.Duration {
	shift := max(n-1, 0)
	if shift >= 63 || k.minBackoff > k.maxBackoff>>shift {
		return k.maxBackoff
	}
	return k.minBackoff << shift
}

func (k *Keeper) schedule(p *kept, at time.Time) {
	p.due = at
	if p.index < 0 {
		heap.Push(&k.queue, p)
	} else {
		heap.Fix(&k.queue, p.index)
	}
}

func (k *Keeper) unschedule(p *kept) {
	if p.index >= 0 {
		heap.Remove(&k.queue, p.index)
	}
}

func (k *Keeper) event(p *kept) Event {
	e := Event{Profile: p.name, State: p.state, Expiry: p.tok.Expiry}
	if p.retrying() {
		e.RetryAt = p.retryAt
	}
	if p.err != nil && (p.retrying() || p.state == StateNeedsUser) {
		e.Err = p.err.Error()
	}
	e.Refused = p.refused
	return e
}

// report queues an event for p when its state, expiry or error changed; a
// new retry time alone is not news.
func (k *Keeper) report(p *kept) {
	e := k.event(p)
	if e.State == p.last.State && e.Expiry.Equal(p.last.Expiry) && e.Err == p.last.Err && e.Refused == p.last.Refused && p.last.Profile != "" {
		return
	}
	p.last = e
	if k.onEvent != nil {
		k.pending = append(k.pending, e)
	}
}

// flush delivers the queued events. Whoever finds the delivery free takes it
// and delivers until the queue is empty, so events arrive in order and an
// OnEvent that calls back into the Keeper cannot deadlock it.
func (k *Keeper) flush() {
	for {
		if !k.emitMu.TryLock() {
			return
		}
		k.mu.Lock()
		events := k.pending
		k.pending = nil
		k.mu.Unlock()
		for _, e := range events {
			k.onEvent(e)
		}
		k.emitMu.Unlock()
		k.mu.Lock()
		more := len(k.pending) > 0
		k.mu.Unlock()
		if !more {
			return
		}
	}
}

// recordingFlow remembers the error of the last request, which Fresh hides
// when it falls back to the stored token.
type recordingFlow struct {
	Flow
	err error
}

func (f *recordingFlow) Acquire(ctx context.Context) (Token, error) {
	t, err := f.Flow.Acquire(ctx)
	f.err = err
	return t, err
}

func (f *recordingFlow) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	t, err := f.Flow.Refresh(ctx, refreshToken)
	f.err = err
	return t, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// dueQueue is a min-heap of profiles by due time.
type dueQueue []*kept

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *dueQueue) Push(x any) {
	p := x.(*kept)
	p.index = len(*q)
	*q = append(*q, p)
}
func (q *dueQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*q = old[:len(old)-1]
	return p
}
