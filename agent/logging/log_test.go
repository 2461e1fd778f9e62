package logging

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tokentray/tokentray/internal/testkit"
)

// logged runs fn against a handler over a fresh registry holding secrets
// and returns what it wrote.
func logged(t *testing.T, secrets []string, fn func(l *slog.Logger)) string {
	t.Helper()
	var reg redactRegistry
	reg.add(true, secrets...)
	var buf bytes.Buffer
	fn(slog.New(newLogHandler(&buf, &reg)))
	return buf.String()
}

func assertRedacted(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		js, _ := json.Marshal(s)
		for _, form := range []string{s, strings.Trim(strconv.Quote(s), `"`), strings.Trim(string(js), `"`), url.QueryEscape(s)} {
			if strings.Contains(out, form) {
				t.Errorf("the log holds a secret (%.6q…, spelled %.6q…):\n%s", s, form, out)
			}
		}
	}
	if !strings.Contains(out, redactedMark) {
		t.Errorf("nothing was marked %s:\n%s", redactedMark, out)
	}
}

// Registered secrets are cut out wherever they are: the message, plain
// attributes, errors (wrapped too), groups, attributes bound with With and
// WithGroup, values formatted with %v, and quoted forms.
func TestLogRedactsRegisteredSecrets(t *testing.T) {
	const (
		clientSecret = "client-secret-4f1c"
		session      = "session-token-9a7e"
		access       = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
		refresh      = "640b00c7-33d8-44f2-ab46-e3d1284a4061"
		signature    = "uid-sig \"quoted\"\nline"
	)
	all := []string{clientSecret, session, access, refresh, signature}
	out := logged(t, all, func(l *slog.Logger) {
		l.Info("acquire with " + clientSecret)
		l.Info("parts", "a", session, "b", refresh) // each in its own attribute
		l.Warn("refresh failed", "err", fmt.Errorf("refresh: %w", errors.New("server said "+refresh)))
		l.Info("grouped", slog.Group("req", slog.String("body", "access="+access), slog.Group("inner", "x", signature)))
		l.With("bound", clientSecret).WithGroup("g").Info("with", "v", session)
		l.Info("struct", "flow", struct{ Secret, Other string }{clientSecret, "plain"})
		l.Info("quoted", "sig", signature)
	})
	assertRedacted(t, out, all...)
	for _, keep := range []string{"acquire with", "refresh failed", "server said", "access=", "Other:plain"} {
		if !strings.Contains(out, keep) {
			t.Errorf("redaction cut more than the secrets: %q is gone:\n%s", keep, out)
		}
	}
}

// A secret split across attributes is cut wherever 8 or more of its
// characters stand together, and whole in a third attribute; a shorter
// fragment, no secret on its own, stays.
func TestLogSecretSplitAcrossAttrs(t *testing.T) {
	const secret = "split-secret-0123456789"
	out := logged(t, []string{secret}, func(l *slog.Logger) {
		l.Info("split", "head", secret[:10], "tail", secret[10:], "bit", secret[13:18], "whole", secret)
	})
	assertRedacted(t, out, secret, secret[:10], secret[10:])
	if !strings.Contains(out, "head="+redactedMark) || !strings.Contains(out, "bit="+secret[13:18]) {
		t.Errorf("want the halves cut and the 5-character fragment kept:\n%s", out)
	}
}

// The log cuts a secret's encodings and parts too: base64 (standard and
// URL, padded or not), hex, and its first 12 characters.
func TestLogRedactsEncodedAndPartialSecrets(t *testing.T) {
	const secret = "k9?>s3cr~t?Zt8qL2vXw9RkP4"
	b := []byte(secret)
	forms := []string{base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(b), secret[:12]}
	out := logged(t, []string{secret}, func(l *slog.Logger) {
		for _, f := range forms {
			l.Warn("server said: invalid client secret " + f)
		}
	})
	for _, f := range forms {
		if strings.Contains(out, f) {
			t.Errorf("the log holds %q:\n%s", f, out)
		}
	}
	if strings.Count(out, "invalid client secret "+redactedMark) != len(forms) {
		t.Errorf("want every line cut after its words:\n%s", out)
	}
}

// An attribute whose key, or whose group's key, names a secret is never
// written, even when the value was never registered (or is too short to be).
func TestLogRedactsSecretKeys(t *testing.T) {
	out := logged(t, nil, func(l *slog.Logger) {
		l.Info("keys", "client_secret", "s3", "refreshToken", "rt-unregistered", "Authorization", "Bearer abc",
			slog.Group("token", "access", "at-unregistered"), "profile", "work")
		l.WithGroup("credentials").Info("grouped", "value", "cred-unregistered")
	})
	for _, s := range []string{"s3", "rt-unregistered", "Bearer abc", "at-unregistered", "cred-unregistered"} {
		if strings.Contains(out, s) {
			t.Errorf("the value %q of a secret-named key was written:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "profile=work") {
		t.Errorf("an ordinary attribute was cut:\n%s", out)
	}
}

// Values too short to be told from ordinary words are not registered, and
// the registry forgets its oldest tokens beyond maxRedactedTokens, but never
// a secret from the keychain, however many refreshes come after it.
func TestLogRegistryBounds(t *testing.T) {
	var reg redactRegistry
	reg.add(true, "short", "")
	reg.add(false, "short", "")
	if len(reg.tokens) != 0 || len(reg.pinned) != 0 || reg.redactor() != nil {
		t.Error("a value under minRedacted bytes was registered")
	}
	const clientSecret = "client-secret-long-lived-4f1c"
	reg.add(true, clientSecret)
	// Tokens unlike each other: a run of 8 characters one shares with
	// another would cut that one too.
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := make([]string, maxRedactedTokens+10)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok-%016x", rng.Uint64())
		reg.add(false, tokens[i])
	}
	if len(reg.tokens) != maxRedactedTokens || len(reg.known) != maxRedactedTokens {
		t.Fatalf("the registry holds %d tokens (%d known), want %d", len(reg.tokens), len(reg.known), maxRedactedTokens)
	}
	got := reg.redactor().Redact(tokens[0] + " " + tokens[len(tokens)-1] + " " + clientSecret)
	if want := tokens[0] + " " + redactedMark + " " + redactedMark; got != want {
		t.Errorf("redacted: %q; want the oldest token forgotten, the newest and the client secret cut", got)
	}
}

// Redact and logging run concurrently (go test -race checks the registry).
func TestLogConcurrent(t *testing.T) {
	var reg redactRegistry
	var buf testkit.SyncBuffer
	l := slog.New(newLogHandler(&buf, &reg))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				s := fmt.Sprintf("concurrent-secret-%d-%d", i, j)
				reg.add(j%2 == 0, s)
				l.Info("got " + s)
			}
		})
	}
	wg.Wait()
	if strings.Contains(buf.String(), "concurrent-secret-") {
		t.Error("a secret registered before it was logged was written")
	}
}

// SetupLogging routes the standard log package through the redacting
// handler, so the agent's existing log.Printf calls are redacted.
func TestSetupLoggingRoutesStandardLog(t *testing.T) {
	old, flags := slog.Default(), log.Flags()
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(os.Stderr)
		log.SetFlags(flags)
	})
	var buf testkit.SyncBuffer
	SetupLogging(&buf)
	const secret = "std-log-secret-77c1"
	Redact(secret)
	log.Printf("profile work: refresh with %s failed", secret)
	slog.InfoContext(context.Background(), "slog too", "v", secret)
	out := buf.String()
	assertRedacted(t, out, secret)
	if !strings.Contains(out, "profile work: refresh with "+redactedMark+" failed") || strings.Count(out, "\n") != 2 {
		t.Errorf("log.Printf did not go through the handler:\n%s", out)
	}
}

// BenchmarkLogHandler logs a typical line with a full registry of
// token-sized secrets, none of which it holds.
func BenchmarkLogHandler(b *testing.B) {
	for _, n := range []int{0, 16, maxRedactedTokens} {
		b.Run(strconv.Itoa(n)+"-secrets", func(b *testing.B) {
			var reg redactRegistry
			for i := range n {
				reg.add(false, fmt.Sprintf("eyJ%04d", i)+strings.Repeat("x", 2000))
			}
			var buf bytes.Buffer
			l := slog.New(newLogHandler(&buf, &reg))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				l.Info("copied the token of work, valid until 2026-11-23T12:00:00Z", "profile", "work")
			}
		})
	}
}
