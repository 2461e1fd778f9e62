package store

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zalando/go-keyring"
)

// stallingKeyring is a keychain whose calls wait until answer is closed,
// as one waiting behind an unlock prompt nobody sees does; then it has
// every entry as "value".
type stallingKeyring struct {
	answer chan struct{}
	calls  atomic.Int32
}

func (s *stallingKeyring) wait() {
	s.calls.Add(1)
	<-s.answer
}

func (s *stallingKeyring) Get(service, user string) (string, error) {
	s.wait()
	return "value", nil
}
func (s *stallingKeyring) Set(service, user, password string) error { s.wait(); return nil }
func (s *stallingKeyring) Delete(service, user string) error        { s.wait(); return nil }
func (s *stallingKeyring) DeleteAll(service string) error           { s.wait(); return nil }

var _ keyring.Keyring = (*stallingKeyring)(nil)

// A keychain that does not answer costs a call KeychainTimeout and a clear
// error; the calls after it fail at once without piling up calls behind
// the stuck one; and once the keychain answers, calls work again.
func TestKeychainDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := &stallingKeyring{answer: make(chan struct{})}
		k := Keychain{Service: "tokentray-test", kr: bounded{kr: kr}}

		start := time.Now()
		_, err := k.ClientSecret("prod")
		if waited := time.Since(start); waited != KeychainTimeout {
			t.Errorf("the first call returned after %s, want %s", waited, KeychainTimeout)
		}
		if !errors.Is(err, ErrNotAnswering) {
			t.Fatalf("the first call = %v, want ErrNotAnswering", err)
		}
		want := "did not answer within 30s"
		if runtime.GOOS == "linux" {
			want = "the keychain (Secret Service, org.freedesktop.secrets on the session bus) did not answer within 30s"
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"prod/client-secret"`) {
			t.Errorf("the error %q does not say %q about prod/client-secret", err, want)
		}

		time.Sleep(time.Minute)
		start = time.Now()
		for _, call := range []func() error{
			func() error { _, err := k.SessionToken("prod"); return err },
			func() error { return k.SetClientSecret("prod", "new") },
			func() error { return k.DeleteProfile("prod") },
		} {
			if err := call(); !errors.Is(err, ErrNotAnswering) || !strings.Contains(err.Error(), "has not answered a call made 1m30s ago") {
				t.Errorf("a call while the first hangs = %v, want ErrNotAnswering saying since when", err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the calls after the stuck one took %s, want none", waited)
		}
		if n := kr.calls.Load(); n != 1 {
			t.Errorf("%d calls reached the keychain, want only the stuck one", n)
		}

		close(kr.answer) // the prompt is answered
		synctest.Wait()
		if v, err := k.ClientSecret("prod"); err != nil || v != "value" {
			t.Errorf("after the keychain answered: %q, %v; want value", v, err)
		}
	})
}

// Calls that come while one is in flight and not yet late wait for it,
// each within its own deadline, and one notice is given per call that
// waits long enough.
func TestKeychainWaitsInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var notices atomic.Int32
		OnKeychainWait(3*time.Second, func() { notices.Add(1) })
		defer OnKeychainWait(0, nil)
		kr := &stallingKeyring{answer: make(chan struct{})}
		k := Keychain{Service: "tokentray-test", kr: bounded{kr: kr}}

		results := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := k.ClientSecret("prod")
				results <- err
			}()
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := notices.Load(); n != 0 {
			t.Errorf("%d notices after 2 s, want none yet", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := kr.calls.Load(); n != 1 {
			t.Errorf("%d calls in flight, want 1: the other waits its turn", n)
		}
		if n := notices.Load(); n != 2 {
			t.Errorf("%d notices after 4 s, want one per waiting call", n)
		}
		close(kr.answer)
		for range 2 {
			if err := <-results; err != nil {
				t.Errorf("a call in turn: %v", err)
			}
		}
		if n := kr.calls.Load(); n != 2 {
			t.Errorf("%d calls, want 2", n)
		}
	})
}
