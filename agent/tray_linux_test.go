package agent

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

func TestStatusLine(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	long := "refresh: server answered 503 Service Unavailable: " + strings.Repeat("upstream timeout ", 10)
	for _, tc := range []struct {
		e    auth.Event
		want string
	}{
		{auth.Event{State: auth.StateValid, Expiry: now.Add(42*time.Minute + 30*time.Second)}, "Valid · expires in 42 min"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(42 * time.Second)}, "Valid · expires in 42 s"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(100 * time.Millisecond)}, "Valid · expires in 1 s"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(119 * time.Minute)}, "Valid · expires in 119 min"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(5*time.Hour + 59*time.Minute)}, "Valid · expires in 5 h"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(72 * time.Hour)}, "Valid · expires in 3 days"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(-time.Minute)}, "Expired · renewing"},
		{auth.Event{State: auth.StateValid, Expiry: now.Add(time.Hour), Refused: "https://api.example.com answers 401"}, "Refused by its API: https://api.example.com answers 401"},
		{auth.Event{State: auth.StateRefreshing, Expiry: now.Add(time.Hour)}, "Refreshing…"},
		{auth.Event{State: auth.StateRetrying, RetryAt: now.Add(30 * time.Second), Err: "server error 503"}, "Retrying in 30 s: server error 503"},
		{auth.Event{State: auth.StateRetrying, RetryAt: now.Add(-time.Second), Err: "server error 503"}, "Retrying now: server error 503"},
		{auth.Event{State: auth.StateRetrying, RetryAt: now.Add(4 * time.Minute), Err: long}, "Retrying in 4 min: " + long[:89] + "…"},
		{auth.Event{State: auth.StateNeedsUser, Err: "client secret rejected"}, "Needs you: client secret rejected"},
		{auth.Event{State: auth.StateNeedsUser, Err: "line one\n  line two"}, "Needs you: line one line two"},
		{auth.Event{State: auth.StateKeychain, RetryAt: now.Add(8 * time.Second), Err: "keychain not answering"}, "Keychain not answering · retrying in 8 s"},
		{auth.Event{State: auth.StateNone}, "No token yet"},
	} {
		if got := statusLine(tc.e, now); got != tc.want {
			t.Errorf("statusLine(%s, expiry %s, retry %s) = %q, want %q", tc.e.State, tc.e.Expiry.Sub(now), tc.e.RetryAt.Sub(now), got, tc.want)
		}
	}
}

func TestWorst(t *testing.T) {
	t.Parallel()
	ev := func(states ...auth.State) []auth.Event {
		var out []auth.Event
		for _, s := range states {
			out = append(out, auth.Event{State: s})
		}
		return out
	}
	for _, tc := range []struct {
		events []auth.Event
		want   overall
	}{
		{nil, allValid},
		{ev(auth.StateValid, auth.StateRefreshing, auth.StateNone), allValid},
		{ev(auth.StateValid, auth.StateRetrying, auth.StateRefreshing), someRetrying},
		{ev(auth.StateRetrying, auth.StateNeedsUser, auth.StateValid), someNeedYou},
		{ev(auth.StateNeedsUser, auth.StateRetrying), someNeedYou},
		{ev(auth.StateKeychain, auth.StateRetrying), someKeychain},
		{ev(auth.StateRetrying, auth.StateKeychain), someKeychain},
		{ev(auth.StateKeychain, auth.StateNeedsUser), someNeedYou},
		{[]auth.Event{{State: auth.StateValid, Refused: "401"}, {State: auth.StateNone}}, someRefused},
		{[]auth.Event{{State: auth.StateValid, Refused: "401"}, {State: auth.StateRetrying}}, someRetrying},
	} {
		if got := worst(tc.events); got != tc.want {
			t.Errorf("worst(%v) = %d, want %d", tc.events, got, tc.want)
		}
	}
}

func TestTooltip(t *testing.T) {
	t.Parallel()
	valid := []auth.Event{{Profile: "a", State: auth.StateValid}}
	for _, tc := range []struct {
		o       overall
		events  []auth.Event
		needYou []string
		want    string
	}{
		{allValid, nil, nil, "Tokentray: no profiles yet"},
		{allValid, valid, nil, "Tokentray: every token valid"},
		{someRetrying, valid, nil, "Tokentray: retrying a refresh"},
		{someKeychain, valid, nil, "Tokentray: the keychain is not answering"},
		{someRefused, valid, nil, "Tokentray: an API refuses a token"},
		{someNeedYou, valid, []string{"work"}, "Tokentray: work needs you"},
		{someNeedYou, valid, []string{"work", "home"}, "Tokentray: work, home need you"},
	} {
		if got := tooltip(tc.o, tc.events, tc.needYou); got != tc.want {
			t.Errorf("tooltip = %q, want %q", got, tc.want)
		}
	}
}

// A keychain that stops answering is told once, not once per profile or
// per retry, and again only after the profiles got past it.
func TestTrayKeychainNews(t *testing.T) {
	t.Parallel()
	ev := func(states ...auth.State) []auth.Event {
		var out []auth.Event
		for i, s := range states {
			out = append(out, auth.Event{Profile: string(rune('a' + i)), State: s})
		}
		return out
	}
	tray := &Tray{}
	for i, step := range []struct {
		events []auth.Event
		want   string
	}{
		{ev(auth.StateRefreshing, auth.StateRefreshing), ""},
		{ev(auth.StateKeychain, auth.StateKeychain), "a, b"},
		{ev(auth.StateRefreshing, auth.StateKeychain), ""}, // a retries
		{ev(auth.StateRefreshing, auth.StateRefreshing), ""},
		{ev(auth.StateKeychain, auth.StateValid), ""},
		{ev(auth.StateValid, auth.StateValid), ""}, // the keychain answers again
		{ev(auth.StateValid, auth.StateKeychain), "b"},
	} {
		if got := strings.Join(tray.keychainNews(step.events), ", "); got != step.want {
			t.Errorf("step %d: told of %q, want %q", i, got, step.want)
		}
	}
	if body := keychainNotice([]string{"a"}); !strings.Contains(body, "Unlock it") || !strings.Contains(body, "gnome-keyring or KWallet") {
		t.Errorf("the notice %q does not say what to do", body)
	}
}

func TestMenuLabel(t *testing.T) {
	t.Parallel()
	if got := menuLabel("my_profile"); got != "my__profile" {
		t.Errorf("menuLabel = %q: a single underscore would be read as a mnemonic", got)
	}
}

// A Copy click that copied nothing says so, since the next paste would be
// whatever was on the clipboard before; a copy that worked says nothing.
func TestTrayCopyFailureNotifies(t *testing.T) {
	t.Parallel()
	var notes []string
	tray := &Tray{Notify: func(summary, body string) error {
		notes = append(notes, summary+": "+body)
		return nil
	}}
	tray.copy("work", "the token", func(context.Context, *Tokens, *clipboard.Clipboard, string) (auth.Token, error) {
		return auth.Token{Expiry: time.Now().Add(time.Hour)}, nil
	})
	if len(notes) != 0 {
		t.Fatalf("a copy that worked notified: %q", notes)
	}
	tray.copy("work", "the token", func(context.Context, *Tokens, *clipboard.Clipboard, string) (auth.Token, error) {
		return auth.Token{}, errors.New("no clipboard to copy to: no display")
	})
	if want := "Tokentray did not copy the token of work: no clipboard to copy to: no display"; len(notes) != 1 || notes[0] != want {
		t.Errorf("notes %q, want [%q]", notes, want)
	}
}

// After Close the menu's loop ends at its next wake-up instead of setting
// an icon: systray closes its D-Bus connection right after, and panicked
// on the next property it could not send.
func TestTrayClosedStopsUpdating(t *testing.T) {
	t.Parallel()
	tokens, err := NewTokens(filepath.Join(t.TempDir(), "config.json"), store.NewMemoryKeychain())
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	tray := &Tray{Tokens: tokens, ready: true}
	events, _ := tokens.Subscribe()
	tray.Close()
	ended := make(chan struct{})
	go func() { tray.eventLoop(events); close(ended) }()
	tokens.publish(auth.Event{Profile: "work", State: auth.StateValid})
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the tray's loop went on after Close")
	}
	if tray.iconSet {
		t.Error("an icon was set after Close")
	}
}
