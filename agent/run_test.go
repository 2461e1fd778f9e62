package agent

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

func TestLogStates(t *testing.T) {
	var logged testkit.SyncBuffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))

	tokens, err := NewTokens(filepath.Join(t.TempDir(), "config.json"), store.NewMemoryKeychain())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { logStates(tokens); close(done) }()
	retryAt := time.Date(2026, 11, 23, 12, 0, 30, 0, time.UTC)
	if !testkit.Poll(testkit.Patience, func() bool {
		// Published until seen: the goroutine may not have subscribed yet.
		tokens.publish(auth.Event{Profile: "work", State: auth.StateRetrying, RetryAt: retryAt, Err: "server error 503"})
		return strings.Contains(logged.String(), "retry_at=2026-11-23T12:00:30Z")
	}) {
		t.Fatalf("the retry was not logged; the log:\n%s", logged.String())
	}
	line := logged.String()
	for _, want := range []string{"profile=work", "state=retrying", `error="server error 503"`} {
		if !strings.Contains(line, want) {
			t.Errorf("the log lacks %s:\n%s", want, line)
		}
	}

	// Close ends the logging without a word about lost changes.
	tokens.Close()
	testkit.Receive(t, done, 10*time.Second, "logStates went on after Close")
	if strings.Contains(logged.String(), "not logged") {
		t.Errorf("Close was logged as lost changes:\n%s", logged.String())
	}
	if ch, _ := tokens.Subscribe(); ch != nil {
		t.Error("Subscribe after Close gave a channel that would never close")
	}
}
