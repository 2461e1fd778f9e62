package authtest

import (
	"slices"
	"sync"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// FakeClock is an auth.Clock that moves only when told to. It keeps the wall
// clock and the monotonic clock apart, as a computer does: Advance moves
// both and fires the timers that come due, Jump moves the wall clock alone,
// as a suspend or a clock step does. Its methods are safe for concurrent
// use.
type FakeClock struct {
	mu     sync.Mutex
	wall   time.Time
	mono   time.Duration // since the clock was made
	timers []*fakeTimer
	fired  int
}

type fakeTimer struct {
	c  *FakeClock
	at time.Duration // on the monotonic clock
	f  func()
}

var _ auth.Clock = (*FakeClock)(nil)

// NewFakeClock returns a clock reading start, without a monotonic reading.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{wall: start.Round(0)}
}

// Now returns the wall clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

// AfterFunc calls f once the monotonic clock has advanced by d, from within
// Advance.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) auth.Stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.mono + max(d, 0), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop cancels the timer, reporting whether it had not fired yet.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// Advance moves both clocks forward by d, stopping at each timer that comes
// due to call its function, in due order, on the calling goroutine. Timers
// armed by those functions fire too when they fall within d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.mono + d
	for {
		i := c.earliest()
		if i < 0 || c.timers[i].at > end {
			break
		}
		t := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		c.wall = c.wall.Add(t.at - c.mono)
		c.mono = max(c.mono, t.at)
		c.fired++
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.wall = c.wall.Add(end - c.mono)
	c.mono = end
	c.mu.Unlock()
}

// Jump moves the wall clock by d (backwards when negative) and fires
// nothing: timers wait on the monotonic clock.
func (c *FakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
}

// Timers counts the timers armed and not yet fired or stopped.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Fired counts the timer functions called so far.
func (c *FakeClock) Fired() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired
}

// NextIn is how long until the earliest timer fires, and false when none is
// armed.
func (c *FakeClock) NextIn() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.earliest()
	if i < 0 {
		return 0, false
	}
	return c.timers[i].at - c.mono, true
}

func (c *FakeClock) earliest() int {
	best := -1
	for i, t := range c.timers {
		if best < 0 || t.at < c.timers[best].at {
			best = i
		}
	}
	return best
}
