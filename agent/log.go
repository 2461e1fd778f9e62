package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The agent's log redacts twice: an attribute whose key names a secret
// ("client_secret", "token", …) is replaced whatever its value, and every
// secret value the process has seen (Redact) is cut out of each finished
// line, whichever message, attribute, group or error carried it.

// minRedacted is the shortest value Redact keeps. A shorter one would cut
// ordinary words out of every line; no real client secret or token is that
// short.
const minRedacted = 8

// maxRedacted bounds how many values the registry holds: the agent runs for
// weeks and every refresh brings new tokens. The oldest go first; they are
// the ones least likely to still be valid.
const maxRedacted = 256

const redactedMark = "[redacted]"

// secrets is the process's registry of values never to log.
var secrets redactRegistry

// Redact registers values that no log line may contain: secrets read from
// the keychain and tokens received from a server. Values shorter than
// minRedacted bytes are ignored. It is safe for concurrent use and cheap
// for a value already registered.
func Redact(values ...string) { secrets.add(values...) }

type redactRegistry struct {
	mu    sync.Mutex
	order []string            // oldest first, at most maxRedacted
	known map[string]struct{} // the values in order
	// active redacts the values in order once stale is false. It is built
	// at the first line logged after a change, not at each Redact: the CLI
	// registers what it reads but rarely logs, and must start fast.
	active atomic.Pointer[strings.Replacer]
	stale  atomic.Bool
}

func (r *redactRegistry) add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < minRedacted {
			continue
		}
		if _, ok := r.known[v]; ok {
			continue
		}
		if r.known == nil {
			r.known = map[string]struct{}{}
		}
		if len(r.order) == maxRedacted {
			delete(r.known, r.order[0])
			r.order = r.order[1:]
		}
		r.order = append(r.order, v)
		r.known[v] = struct{}{}
		r.stale.Store(true)
	}
}

// replacer returns the replacer of the registered values, nil when there
// are none.
func (r *redactRegistry) replacer() *strings.Replacer {
	if !r.stale.Load() {
		return r.active.Load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stale.Load() {
		var pairs []string
		seen := map[string]bool{}
		for _, v := range r.order {
			for _, form := range spellings(v) {
				if !seen[form] {
					seen[form] = true
					pairs = append(pairs, form, redactedMark)
				}
			}
		}
		r.active.Store(strings.NewReplacer(pairs...))
		r.stale.Store(false)
	}
	return r.active.Load()
}

// spellings are the forms a secret takes in a log line: as is, quoted by
// the text handler (Go escapes), JSON-escaped and URL-encoded.
func spellings(v string) []string {
	js, _ := json.Marshal(v)
	return []string{
		v,
		strings.Trim(strconv.Quote(v), `"`),
		strings.Trim(string(js), `"`),
		url.QueryEscape(v),
		url.PathEscape(v),
	}
}

// redactWriter cuts the registered secrets out of each write. slog's
// handlers write each record with one Write call, so a secret never spans
// two writes.
type redactWriter struct {
	w   io.Writer
	reg *redactRegistry
}

func (rw redactWriter) Write(p []byte) (int, error) {
	rep := rw.reg.replacer()
	if rep == nil {
		return rw.w.Write(p)
	}
	if _, err := io.WriteString(rw.w, rep.Replace(string(p))); err != nil {
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
