package store

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// MoveSecrets moves a profile's entries between the real keychain and the
// secrets file; a move that cannot finish leaves everything where it was.
func TestMoveSecrets(t *testing.T) {
	realKeychain(t) // for its skip; the move uses the service Service
	name := "move-" + time.Now().Format("150405.000000")
	k := Keychain{}
	t.Cleanup(func() { k.DeleteProfile(name) })
	path := configPath(t)
	cfg := &Config{Profiles: []Profile{{Name: name, Flow: FlowIdentity}}, Settings: Settings{PassphraseEnv: testPassphraseEnv}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := k.SetClientSecret(name, "client secret"); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken(name, auth.Token{AccessToken: "access", Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	backend := func() string {
		t.Helper()
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return c.Settings.SecretsBackend()
	}

	t.Setenv(testPassphraseEnv, "")
	if _, err := MoveSecrets(t.Context(), path, SecretsFile, nil); !errors.Is(err, ErrNoPassphrase) {
		t.Errorf("MoveSecrets without a passphrase = %v, want ErrNoPassphrase", err)
	}
	if got, err := k.ClientSecret(name); backend() != SecretsKeychain || err != nil || got != "client secret" {
		t.Fatalf("after a failed move: backend %s, keychain holds %q, %v; want all as it was", backend(), got, err)
	}

	t.Setenv(testPassphraseEnv, testPassphrase)
	moved, err := MoveSecrets(t.Context(), path, SecretsFile, nil)
	if err != nil || moved != 2 || backend() != SecretsFile {
		t.Fatalf("MoveSecrets to the file = %d, %v, backend %s; want 2 entries moved and the file chosen", moved, err, backend())
	}
	if _, err := k.ClientSecret(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("the keychain still has the client secret: %v", err)
	}
	file := OpenKeychain(path, nil)
	if got, err := file.ClientSecret(name); err != nil || got != "client secret" {
		t.Errorf("the file holds %q, %v", got, err)
	}
	if _, err := MoveSecrets(t.Context(), path, SecretsFile, nil); !errors.Is(err, ErrSameBackend) {
		t.Errorf("moving to where they are = %v, want ErrSameBackend", err)
	}

	if moved, err := MoveSecrets(t.Context(), path, SecretsKeychain, nil); err != nil || moved != 2 || backend() != SecretsKeychain {
		t.Fatalf("MoveSecrets back = %d, %v, backend %s", moved, err, backend())
	}
	if tok, found, err := k.LoadToken(name); err != nil || !found || tok.AccessToken != "access" {
		t.Errorf("the token record came back as %+v, %v, %v", tok, found, err)
	}
	if _, err := os.Stat(SecretsFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied secrets file is still there: %v", err)
	}
}
