package store

import (
	"os"
	"path/filepath"
	"testing"
)

// TakePassphrase takes the variable the settings name out of the
// environment, and the default one when there is no config.
func TestTakePassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	t.Setenv(DefaultPassphraseEnv, "default passphrase")
	if got := TakePassphrase(path); got != "default passphrase" {
		t.Errorf("without a config: took %q, want the default variable's value", got)
	}
	if _, set := os.LookupEnv(DefaultPassphraseEnv); set {
		t.Error("the default variable is still in the environment")
	}

	cfg := &Config{Settings: Settings{PassphraseEnv: "MY_TOKENTRAY_PASS"}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MY_TOKENTRAY_PASS", "named passphrase")
	if got := TakePassphrase(path); got != "named passphrase" {
		t.Errorf("with a named variable: took %q", got)
	}
	if _, set := os.LookupEnv("MY_TOKENTRAY_PASS"); set {
		t.Error("the named variable is still in the environment")
	}
}
