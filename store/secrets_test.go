package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// hookKeyring is the OS keychain (go-keyring's mock) that runs hook once,
// at its first Set: the moment a slow keychain write (an unlock prompt)
// gives another process time to act.
type hookKeyring struct {
	goKeyring
	hook func()
}

func (h *hookKeyring) Set(service, user, password string) error {
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return h.goKeyring.Set(service, user, password)
}

// lockedKeyring is go-keyring's mock, which is not safe for concurrent use,
// made so.
type lockedKeyring struct {
	mu sync.Mutex
	goKeyring
}

func (l *lockedKeyring) Set(service, user, password string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.goKeyring.Set(service, user, password)
}

func (l *lockedKeyring) Get(service, user string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.goKeyring.Get(service, user)
}

func (l *lockedKeyring) Delete(service, user string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.goKeyring.Delete(service, user)
}

// moveSetup saves a config with profiles a and b that keeps its secrets in
// the keychain, in a fresh runtime dir, and returns its path and the
// secrets file's Keychain.
func moveSetup(t *testing.T) (string, Keychain) {
	t.Helper()
	keyring.MockInit()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv(testPassphraseEnv, testPassphrase)
	path := configPath(t)
	cfg := &Config{Profiles: []Profile{
		{Name: "a", Flow: FlowIdentity, BaseURL: "https://api.example.com"},
		{Name: "b", Flow: FlowIdentity, BaseURL: "https://api.example.com"},
	}, Settings: Settings{PassphraseEnv: testPassphraseEnv}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	return path, Keychain{kr: &vault{path: SecretsFilePath(path), env: testPassphraseEnv, kdf: testKDF}}
}

// A move started while the window adds a profile waits for the add to
// finish instead of having its switch undone by the add's save, which
// would leave the secrets where the config no longer looks.
func TestMoveSecretsWaitsForAddProfile(t *testing.T) {
	if runChild(t) {
		return
	}
	path, _ := moveSetup(t)
	if err := (Keychain{}).SetClientSecret("a", "secret-of-a"); err != nil {
		t.Fatal(err)
	}
	var waitMove func() error
	k := Keychain{kr: &hookKeyring{hook: func() {
		waitMove = meanwhile(func() error {
			_, err := MoveSecrets(context.Background(), path, SecretsFile, nil)
			return err
		})
	}}}
	if err := AddProfile(path, k, Profile{Name: "c", Flow: FlowIdentity, BaseURL: "https://api.example.com"}, Secrets{ClientSecret: "secret-of-c"}); err != nil {
		t.Fatal(err)
	}
	if err := waitMove(); err != nil {
		t.Fatalf("move: %v", err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Settings.SecretsBackend() != SecretsFile {
		t.Errorf("after the move, the config keeps secrets in %q, want the file", cfg.Settings.SecretsBackend())
	}
	if _, ok := cfg.Profile("c"); !ok {
		t.Error("profile c, added meanwhile, is not in the config")
	}
	for name, want := range map[string]string{"a": "secret-of-a", "c": "secret-of-c"} {
		if got, err := OpenKeychain(path, nil).ClientSecret(name); err != nil || got != want {
			t.Errorf("%s's client secret, where the config says: %q, %v; want %q", name, got, err, want)
		}
	}
}

// A config naming the keychain while the secrets are in the file (restored
// from a backup, edited, synced) loses nothing to `tokentray secrets
// keychain`: only copies the keychain holds too are deleted from the file,
// and the others are reported.
func TestMoveSecretsSameBackendKeepsOnlyCopy(t *testing.T) {
	if runChild(t) {
		return
	}
	path, file := moveSetup(t)
	if err := file.SetClientSecret("a", "only-copy"); err != nil {
		t.Fatal(err)
	}
	// b's client secret is a leftover of a move cut short: the same in both.
	for _, k := range []Keychain{{}, file} {
		if err := k.SetClientSecret("b", "both"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := MoveSecrets(t.Context(), path, SecretsKeychain, nil)
	if !errors.Is(err, ErrSameBackend) || !strings.Contains(err.Error(), "a/client-secret") || strings.Contains(err.Error(), "b/client-secret") {
		t.Errorf("MoveSecrets(keychain) = %v, want ErrSameBackend naming a/client-secret alone as left in the file", err)
	}
	if got, err := file.ClientSecret("a"); err != nil || got != "only-copy" {
		t.Errorf("the only copy, in the file, became %q, %v", got, err)
	}
	if _, err := file.ClientSecret("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the leftover copy of b in the file: %v, want deleted", err)
	}
	if got, err := (Keychain{}).ClientSecret("b"); err != nil || got != "both" {
		t.Errorf("b's client secret in the keychain became %q, %v", got, err)
	}
}

// An entry the destination holds and the source lacks is kept: it may be
// the only copy.
func TestMoveSecretsKeepsDestinationOnlyEntry(t *testing.T) {
	if runChild(t) {
		return
	}
	path, file := moveSetup(t)
	if err := (Keychain{}).SetClientSecret("a", "in-keychain"); err != nil {
		t.Fatal(err)
	}
	if err := file.SetClientSecret("b", "only-in-file"); err != nil {
		t.Fatal(err)
	}
	if moved, err := MoveSecrets(t.Context(), path, SecretsFile, nil); err != nil || moved != 1 {
		t.Fatalf("MoveSecrets(file) = %d, %v; want 1 moved", moved, err)
	}
	for name, want := range map[string]string{"a": "in-keychain", "b": "only-in-file"} {
		if got, err := file.ClientSecret(name); err != nil || got != want {
			t.Errorf("%s's client secret in the file: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := (Keychain{}).ClientSecret("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a's moved client secret is still in the keychain: %v", err)
	}
}

// AddProfile writes a profile's secrets under its lock, so that a move or
// a refresh holding it finishes first.
func TestAddProfileTakesProfileLock(t *testing.T) {
	if runChild(t) {
		return
	}
	path, _ := moveSetup(t)
	// The flock orders the two goroutines, but the race detector does not
	// know it; the mock keyring needs its own lock.
	k := Keychain{kr: &lockedKeyring{}}
	unlock, err := ProfileLocks{}.Lock(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	added := make(chan error, 1)
	go func() {
		added <- AddProfile(path, k, Profile{Name: "c", Flow: FlowIdentity, BaseURL: "https://api.example.com"}, Secrets{ClientSecret: "s"})
	}()
	select {
	case err := <-added:
		unlock()
		t.Fatalf("AddProfile returned (%v) while another held the profile's lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := k.ClientSecret("c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddProfile wrote the client secret while another held the lock: %v", err)
	}
	unlock()
	if err := <-added; err != nil {
		t.Fatal(err)
	}
}

// A Keychain opened before the secrets were moved is refused: what it
// wrote would be where the config no longer looks.
func TestAddProfileRefusesMovedSecrets(t *testing.T) {
	if runChild(t) {
		return
	}
	path, _ := moveSetup(t)
	if _, err := MoveSecrets(t.Context(), path, SecretsFile, nil); err != nil {
		t.Fatal(err)
	}
	err := AddProfile(path, Keychain{}, Profile{Name: "c", Flow: FlowIdentity, BaseURL: "https://api.example.com"}, Secrets{ClientSecret: "s"})
	if err == nil || !strings.Contains(err.Error(), "moved") {
		t.Errorf("AddProfile with the keychain after a move to the file = %v, want an error saying they moved", err)
	}
	if _, err := (Keychain{}).ClientSecret("c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused client secret went to the keychain: %v", err)
	}
	if cfg, _ := Load(path); cfg != nil {
		if _, ok := cfg.Profile("c"); ok {
			t.Error("the refused profile is in the config")
		}
	}
}
