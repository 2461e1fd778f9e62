package desktop

import (
	"context"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWatchNetworkDebouncesAChange brings the loopback interface up in a
// private network namespace: a burst of link and route messages that must
// make exactly one recheck.
func TestWatchNetworkDebouncesAChange(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	rechecks := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan error)
	go func() {
		// Never unlocked: the thread, in its own namespace, ends with
		// this goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		// The socket belongs to the namespace of the thread making it, and
		// ip inherits it too.
		if err := watchNetwork(ctx, func() { rechecks <- struct{}{} }); err != nil {
			ready <- err
			return
		}
		ready <- exec.Command("ip", "link", "set", "lo", "up").Run()
	}()
	if err := <-ready; err != nil {
		t.Skipf("cannot make a private network namespace here: %v", err)
	}
	select {
	case <-rechecks:
	case <-time.After(10 * time.Second):
		t.Fatal("no recheck after the network changed")
	}
	select {
	case <-rechecks:
		t.Error("a second recheck for one burst of changes")
	case <-time.After(2 * netDebounce):
	}
}
