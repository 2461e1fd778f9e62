package testkit

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	start := time.Now()
	if !Poll(time.Minute, func() bool { return calls.Add(1) == 5 }) {
		t.Fatal("Poll gave up on a condition that came to hold")
	}
	// The first waits are short: a condition about to hold costs no
	// fixed delay.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("five polls took %v", took)
	}
	calls.Store(0)
	if Poll(20*time.Millisecond, func() bool { calls.Add(1); return false }) {
		t.Error("Poll reported a condition that never held")
	}
	if calls.Load() < 2 {
		t.Errorf("Poll asked %d times before giving up, want it to keep asking", calls.Load())
	}
}

// recorder is a testing.TB that records how a helper ended the test,
// ending the goroutine as testing's own Skipf and Fatalf do.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }

// requireDesktop runs RequireDesktop with r on a goroutine of its own.
func (r *recorder) requireDesktop(needs Needs) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		RequireDesktop(r, needs)
	}()
	<-done
}

// Outside the desktop session a test needing it skips; inside one, a
// missing display or bus fails it.
func TestRequireDesktop(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
	t.Setenv("DISPLAY", "")
	for _, tc := range []struct {
		session               string
		needs                 Needs
		wantSkipped, wantFail bool
	}{
		{"", SessionBus, false, false},
		{"", Display, true, false},
		{"", Display | SessionBus, true, false},
		{"1", SessionBus, false, false},
		{"1", Display, false, true},
	} {
		t.Setenv(sessionEnv, tc.session)
		r := &recorder{TB: t}
		r.requireDesktop(tc.needs)
		if r.skipped != tc.wantSkipped || r.failed != tc.wantFail {
			t.Errorf("session %q, needs %b: skipped %v, failed %v; want %v, %v", tc.session, tc.needs, r.skipped, r.failed, tc.wantSkipped, tc.wantFail)
		}
	}
}
