package auth

import "time"

// Clock is the time source of a Keeper: the wall clock for token expiry, and
// timers. Tests swap in a fake (authtest.FakeClock) so that hours of token
// life pass in microseconds.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper cancels a pending AfterFunc; Stop reports whether it did so before
// the function ran, as time.Timer's does.
type Stopper interface {
	Stop() bool
}

// SystemClock is the real clock: time.Now and time.AfterFunc.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }
