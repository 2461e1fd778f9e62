package logging

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tokentray/tokentray/auth"
)

// The agent's log redacts twice: an attribute whose key names a secret
// ("client_secret", "token", …) is replaced whatever its value, and every
// secret value the process has seen (Redact) is cut out of each finished
// line, whichever message, attribute, group or error carried it, in every
// form auth.Redactor catches (escaped, base64, hex, or a run of 8 of its
// characters).

// minRedacted is the shortest value Redact keeps. A shorter one would cut
// ordinary words out of every line; no real client secret or token is that
// short.
const minRedacted = 8

// maxRedactedTokens bounds how many tokens the registry holds: the agent
// runs for weeks and every refresh brings new ones. The oldest go first;
// they are the ones least likely to still be valid. Secrets read from the
// keychain are never dropped: they live as long as the profile.
const maxRedactedTokens = 256

const redactedMark = auth.RedactedMark

// secrets is the process's registry of values never to log.
var secrets redactRegistry

// Redact registers secrets that no log line may contain for as long as the
// process runs: client secrets, session tokens, uid signatures, the secrets
// file's passphrase. Values shorter than minRedacted bytes are ignored. It
// is safe for concurrent use and cheap for a value already registered.
func Redact(values ...string) { secrets.add(true, values...) }

// RedactToken registers tokens received from a server, which no log line
// may contain either. Only the newest maxRedactedTokens are kept, since
// every refresh brings new ones.
func RedactToken(values ...string) { secrets.add(false, values...) }

type redactRegistry struct {
	mu     sync.Mutex
	pinned map[string]struct{} // never dropped
	tokens []string            // oldest first, at most maxRedactedTokens
	known  map[string]struct{} // the values in tokens
	// active redacts the values once stale is false. It is built at the
	// first line logged after a change, not at each Redact: the CLI
	// registers what it reads but rarely logs, and must start fast.
	active atomic.Pointer[auth.Redactor]
	stale  atomic.Bool
}

func (r *redactRegistry) add(pin bool, values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known == nil {
		r.known, r.pinned = map[string]struct{}{}, map[string]struct{}{}
	}
	for _, v := range values {
		if len(v) < minRedacted {
			continue
		}
		if _, ok := r.pinned[v]; ok {
			continue
		}
		if pin {
			r.pinned[v] = struct{}{}
			r.stale.Store(true)
			continue
		}
		if _, ok := r.known[v]; ok {
			continue
		}
		if len(r.tokens) == maxRedactedTokens {
			delete(r.known, r.tokens[0])
			r.tokens = r.tokens[1:]
		}
		r.tokens = append(r.tokens, v)
		r.known[v] = struct{}{}
		r.stale.Store(true)
	}
}

// redactor returns the redactor of the registered values, nil when there
// are none.
func (r *redactRegistry) redactor() *auth.Redactor {
	if !r.stale.Load() {
		return r.active.Load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stale.Load() {
		r.active.Store(auth.NewRedactor(slices.Concat(slices.Collect(maps.Keys(r.pinned)), r.tokens)...))
		r.stale.Store(false)
	}
	return r.active.Load()
}

// redactWriter cuts the registered secrets out of each write. slog's
// handlers write each record with one Write call, so a secret never spans
// two writes.
type redactWriter struct {
	w   io.Writer
	reg *redactRegistry
}

func (rw redactWriter) Write(p []byte) (int, error) {
	red := rw.reg.redactor()
	if red == nil {
		return rw.w.Write(p)
	}
	if _, err := io.WriteString(rw.w, red.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// secretKeyWords mark an attribute key (or a group holding it) as naming a
// secret.
var secretKeyWords = []string{"secret", "password", "passphrase", "token", "signature", "authorization", "cookie", "credential"}

func secretKey(key string) bool {
	key = strings.ToLower(key)
	for _, w := range secretKeyWords {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

// redactKeys is the handler's ReplaceAttr: the value of an attribute whose
// key, or whose group's key, names a secret is never written.
func redactKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.MessageKey || a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	if secretKey(a.Key) {
		return slog.String(a.Key, redactedMark)
	}
	for _, g := range groups {
		if secretKey(g) {
			return slog.String(a.Key, redactedMark)
		}
	}
	return a
}

// NewLogHandler returns a text handler writing to w that redacts secrets:
// attributes whose keys name one, and every value registered with Redact.
func NewLogHandler(w io.Writer) slog.Handler {
	return newLogHandler(w, &secrets)
}

func newLogHandler(w io.Writer, reg *redactRegistry) slog.Handler {
	return slog.NewTextHandler(redactWriter{w: w, reg: reg}, &slog.HandlerOptions{ReplaceAttr: redactKeys})
}

// SetupLogging makes the redacting handler the process's default logger,
// writing to w. The standard log package then writes through it too, so
// every log.Printf is redacted.
func SetupLogging(w io.Writer) {
	slog.SetDefault(slog.New(NewLogHandler(w)))
}
