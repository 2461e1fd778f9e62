package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
)

// fakeKeyring is an in-memory keychain that refuses values above limit the
// way go-keyring does on Windows.
type fakeKeyring struct {
	mu      sync.Mutex
	entries map[string]string // by account; one service is enough here
	limit   int
	failSet int // when positive, the failSet-th Set from now fails
	// ops counts Sets and Deletes; from the crashAt-th on (when positive)
	// none takes effect, as if the process had died.
	ops, crashAt int
}

var errCrashed = errors.New("the process died")

// crashed counts a Set or Delete and reports whether it must not happen.
// Called with f.mu held.
func (f *fakeKeyring) crashed() bool {
	f.ops++
	return f.crashAt > 0 && f.ops >= f.crashAt
}

func newFake(limit int) *fakeKeyring {
	return &fakeKeyring{entries: map[string]string{}, limit: limit}
}

func (f *fakeKeyring) Set(_, account, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && len(value) > f.limit {
		return keyring.ErrSetDataTooBig
	}
	if f.crashed() {
		return errCrashed
	}
	if f.failSet > 0 {
		if f.failSet--; f.failSet == 0 {
			return errors.New("org.freedesktop.DBus.Error.NoReply: injected")
		}
	}
	f.entries[account] = value
	return nil
}

func (f *fakeKeyring) Get(_, account string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.entries[account]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Delete(_, account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed() {
		return errCrashed
	}
	if _, ok := f.entries[account]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.entries, account)
	return nil
}

func (f *fakeKeyring) DeleteAll(string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.entries)
	return nil
}

func (f *fakeKeyring) accounts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.entries))
}

// jwtLike is n bytes of something shaped like a token.
func jwtLike(n int) string {
	return ("eyJ" + strings.Repeat("aB3-_x.Q9", n/9+1))[:n]
}

// At Windows Credential Manager's limit, larger values are chunked, every
// entry fits, and each round-trips, in UTF-8 too; old chunks go when a
// value shrinks, and DeleteProfile leaves nothing.
func TestChunksWindowsLimit(t *testing.T) {
	t.Parallel()
	fake := newFake(2560)
	k := Keychain{Service: "s", limit: 2560, kr: fake}
	for _, v := range []string{
		"small", jwtLike(2560), jwtLike(2561), jwtLike(10 << 10), jwtLike(64 << 10),
		strings.Repeat("ü€𝄞", 2000),                     // multi-byte runes across every cut
		chunkMagic + "gen=1 chunks=1 bytes=1 sha256=00", // header-shaped: must not be taken for one
		jwtLike(3000),
	} {
		if err := k.SetClientSecret("prod", v); err != nil {
			t.Fatalf("%d bytes: %v", len(v), err)
		}
		got, err := k.ClientSecret("prod")
		if err != nil || got != v {
			t.Fatalf("%d bytes: ClientSecret = %d bytes, %v", len(v), len(got), err)
		}
		chunks := 0
		for _, a := range fake.accounts() {
			if strings.HasPrefix(a, "prod/client-secret/chunk/") {
				chunks++
				if e, _ := fake.Get("", a); utf8.ValidString(v) && !utf8.ValidString(e) {
					t.Errorf("%d bytes: chunk %s is not UTF-8", len(v), a)
				}
			}
		}
		wantChunks := 0
		if len(v) > 2560 || strings.HasPrefix(v, chunkMagic) {
			wantChunks = (len(v) + 2560 - 4) / (2560 - 3) // at most 3 bytes short each
		}
		if len(v) > 2560 && (chunks < (len(v)+2559)/2560 || chunks > wantChunks) || len(v) <= 2560 && chunks != wantChunks {
			t.Errorf("%d bytes: %d chunk entries (old ones left?): %v", len(v), chunks, fake.accounts())
		}
	}
	tok := auth.Token{AccessToken: jwtLike(6000), RefreshToken: "r", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Scope: "a b"}
	if err := k.SaveToken("prod", tok); err != nil {
		t.Fatal(err)
	}
	if got, found, err := k.LoadToken("prod"); err != nil || !found || got.AccessToken != tok.AccessToken || got.Scope != "a b" || !got.Expiry.Equal(tok.Expiry) {
		t.Fatalf("LoadToken = found %v, %v, %d-byte access token", found, err, len(got.AccessToken))
	}
	if err := k.DeleteProfile("prod"); err != nil {
		t.Fatal(err)
	}
	if left := fake.accounts(); len(left) != 0 {
		t.Errorf("DeleteProfile left %v", left)
	}
	if _, err := k.ClientSecret("prod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ClientSecret after DeleteProfile = %v", err)
	}
	if err := k.SetClientSecret("prod", jwtLike(maxChunkedValue+1)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("a value over %d bytes: %v", maxChunkedValue, err)
	}
}

// A write cut short (a crash between chunk writes) leaves the old value
// readable; its leftovers are cleared by the next write. A failing write
// leaves the old value and cleans up after itself.
func TestChunksHalfWritten(t *testing.T) {
	t.Parallel()
	fake := newFake(2560)
	k := Keychain{Service: "s", limit: 2560, kr: fake}
	old, next := jwtLike(6000), strings.Repeat("n", 4000)
	if err := k.SetClientSecret("prod", old); err != nil {
		t.Fatal(err)
	}
	h, _, ok := parseChunkHeader(fake.entries["prod/client-secret"])
	if !ok {
		t.Fatalf("the base entry is no header: %q", fake.entries["prod/client-secret"])
	}
	// The crash: five chunks of the next generation, and no header switch.
	for i := range 5 {
		fake.entries[chunkAccount("prod/client-secret", nextGen(h.gen), i)] = strings.Repeat("x", 2000)
	}
	if got, err := k.ClientSecret("prod"); err != nil || got != old {
		t.Fatalf("after a cut-short write: %d bytes, %v; want the old value", len(got), err)
	}
	if err := k.SetClientSecret("prod", next); err != nil {
		t.Fatal(err)
	}
	if got, err := k.ClientSecret("prod"); err != nil || got != next {
		t.Fatalf("after the next write: %d bytes, %v", len(got), err)
	}
	if n := len(fake.accounts()); n != 1+2 {
		t.Errorf("entries after the next write: %v, want the header and 2 chunks", fake.accounts())
	}

	fake.failSet = 2 // the second chunk of the write below
	err := k.SetClientSecret("prod", old)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("a failing write = %v", err)
	}
	assertNoSecret(t, err, old)
	if got, err := k.ClientSecret("prod"); err != nil || got != next {
		t.Fatalf("after a failed write: %d bytes, %v; want the value before it", len(got), err)
	}
	if n := len(fake.accounts()); n != 1+2 {
		t.Errorf("a failed write left %v", fake.accounts())
	}
}

// A header whose chunks are gone or changed is ErrDamaged: never a wrong
// value, never "not found", and the error quotes nothing of the value.
func TestChunksDamaged(t *testing.T) {
	t.Parallel()
	v := jwtLike(6000)
	for name, damage := range map[string]func(f *fakeKeyring){
		"missing chunk": func(f *fakeKeyring) { delete(f.entries, chunkAccount("prod/client-secret", 1, 1)) },
		"changed chunk": func(f *fakeKeyring) {
			a := chunkAccount("prod/client-secret", 1, 1)
			f.entries[a] = strings.ToUpper(f.entries[a])
		},
		"chunk of another value": func(f *fakeKeyring) { f.entries[chunkAccount("prod/client-secret", 1, 2)] = jwtLike(900) },
		"bad header":             func(f *fakeKeyring) { f.entries["prod/client-secret"] = chunkMagic + "gen=1 chunks=x" },
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFake(2560)
			k := Keychain{Service: "s", limit: 2560, kr: fake}
			if err := k.SetClientSecret("prod", v); err != nil {
				t.Fatal(err)
			}
			damage(fake)
			got, err := k.ClientSecret("prod")
			if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotFound) || got != "" {
				t.Fatalf("ClientSecret = %d bytes, %v; want ErrDamaged", len(got), err)
			}
			assertNoSecret(t, err, v[:40])
			if err := k.SetClientSecret("prod", "mended"); err != nil { // saving again mends it
				t.Fatal(err)
			}
			if got, err := k.ClientSecret("prod"); err != nil || got != "mended" {
				t.Errorf("after saving again: %q, %v", got, err)
			}
		})
	}
}

// A write that dies after any number of its keychain calls leaves the
// value before it or the value it wrote, never a damaged one (a delete
// may leave a damaged one, which deleting again removes);
// and whatever chunks it left behind are gone after the next successful
// write (or delete): only the entries that value uses remain.
func TestChunksCrashWindows(t *testing.T) {
	t.Parallel()
	const limit = 2560
	const acct = "prod/client-secret"
	values := map[string]string{
		"plain": "a small value", "chunked": jwtLike(6000), "chunked-small": jwtLike(3000), "chunked-large": jwtLike(9000),
	}
	// Each history is the values written before the one that dies, so
	// that it starts from either generation.
	histories := [][]string{nil, {"plain"}, {"chunked"}, {"chunked", "chunked-large"}, {"plain", "chunked", "plain"}}
	cutShort := []string{"plain", "chunked-small", "chunked-large", "delete"}
	next := []string{"plain", "chunked", "delete"}

	apply := func(k Keychain, op string) error {
		if op == "delete" {
			err := k.delete(acct)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		return k.set(acct, values[op])
	}
	windows := 0
	for _, history := range histories {
		for _, dying := range cutShort {
			for _, after := range next {
				for crashAt := 1; ; crashAt++ {
					fake := newFake(limit)
					k := Keychain{Service: "s", limit: limit, kr: fake}
					before := ""
					for _, op := range history {
						if err := apply(k, op); err != nil {
							t.Fatal(err)
						}
						before = values[op]
					}
					fake.ops, fake.crashAt = 0, crashAt
					err := apply(k, dying)
					fake.crashAt = 0
					if err == nil { // the write finished before the crash: every window is tried
						break
					}
					windows++
					name := fmt.Sprintf("after %v, %s cut short at call %d", history, dying, crashAt)
					got, err := k.get(acct)
					switch {
					case errors.Is(err, ErrNotFound) && (before == "" || dying == "delete"):
					case errors.Is(err, ErrDamaged) && dying == "delete": // half deleted: deleting again finishes
					case err == nil && (got == before || got == values[dying]):
					default:
						t.Fatalf("%s: read %d bytes, %v; want the value before or the one written", name, len(got), err)
					}
					if err := apply(k, after); err != nil {
						t.Fatalf("%s, then %s: %v", name, after, err)
					}
					want := map[string]bool{}
					if after != "delete" {
						want[acct] = true
						if h, _, ok := parseChunkHeader(fake.entries[acct]); ok {
							for i := range h.chunks {
								want[chunkAccount(acct, h.gen, i)] = true
							}
						}
						if got, err := k.get(acct); err != nil || got != values[after] {
							t.Fatalf("%s, then %s: read %d bytes, %v", name, after, len(got), err)
						}
					}
					for _, a := range fake.accounts() {
						if !want[a] {
							t.Errorf("%s, then %s: %s is left behind", name, after, a)
						}
					}
				}
			}
		}
	}
	t.Logf("%d crash points tried", windows)
}

// FuzzChunks writes a value chunked, damages the entries as the input
// says, and reads back: it must not panic, and a read that succeeds
// returns the value written or, when the header was replaced, data whose
// size and SHA-256 match that header. Nothing else.
func FuzzChunks(f *testing.F) {
	f.Add("hello", uint16(0), uint8(0), uint8(0), "")
	f.Add(strings.Repeat("ab€", 50), uint16(3), uint8(1), uint8(1), "")
	f.Add(jwtLike(250), uint16(7), uint8(2), uint8(0), "x")
	f.Add(jwtLike(90), uint16(0), uint8(3), uint8(0), chunkMagic+"gen=1 chunks=1 bytes=5 sha256="+strings.Repeat("0", 64))
	f.Add(jwtLike(90), uint16(0), uint8(4), uint8(0), "junk")
	f.Fuzz(func(t *testing.T, value string, limit uint16, op, idx uint8, junk string) {
		// Tiny chunks give short values many of them. Long values add
		// nothing but cost: the engine minimizes each new input in time
		// quadratic in its length (times the cost of a run), which stalled
		// the fuzzing for a minute at a time on values of a few KB.
		if len(value) > 256 || len(junk) > 256 {
			return
		}
		lim := 1 + int(limit)%32
		fake := newFake(256) // room for the header, which is not chunked
		k := Keychain{Service: "s", limit: lim, kr: fake}
		const acct = "p/client-secret"
		if err := k.SetClientSecret("p", value); err != nil {
			t.Fatalf("Set of %d bytes: %v", len(value), err)
		}
		if got, err := k.ClientSecret("p"); err != nil || got != value {
			t.Fatalf("read back %q, %v; want %q", got, err, value)
		}
		h, chunked, _ := parseChunkHeader(fake.entries[acct])
		i := 0
		if chunked {
			i = int(idx) % h.chunks
		}
		switch op % 5 {
		case 1:
			delete(fake.entries, chunkAccount(acct, h.gen, i))
		case 2:
			fake.entries[chunkAccount(acct, h.gen, i)] = junk
		case 3:
			fake.entries[acct] = junk
		case 4: // a cut-short write of the next generation: ignored
			fake.entries[chunkAccount(acct, nextGen(h.gen), i)] = junk
		}
		got, err := k.ClientSecret("p")
		if err != nil {
			if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("read after damage: %v", err)
			}
			if op%5 == 0 || op%5 == 4 {
				t.Fatalf("read of an undamaged value: %v", err)
			}
			return
		}
		if got == value {
			return
		}
		if op%5 == 3 && !strings.HasPrefix(junk, chunkMagic) && got == junk {
			return // the header was replaced by a plain value
		}
		cur, isHeader, ok := parseChunkHeader(fake.entries[acct])
		if !isHeader || !ok || len(got) != cur.size || sha256.Sum256([]byte(got)) != cur.sum {
			t.Fatalf("read %q, which is neither the value written nor what the header names", got)
		}
	})
}
