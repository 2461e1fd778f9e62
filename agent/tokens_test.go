package agent

import (
	"path/filepath"
	"testing"

	"github.com/tokentray/tokentray/store"
)

// The device id is saved into the config as it is then: a setting saved
// since the agent read it stays.
func TestDeviceIDKeepsChangeMadeMeanwhile(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	path := filepath.Join(t.TempDir(), "config.json")
	cfg := &store.Config{Profiles: []store.Profile{{Name: "a", Flow: store.FlowIdentity, BaseURL: "http://127.0.0.1:1"}}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	tokens, err := NewTokens(path, store.NewMemoryKeychain())
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	if err := store.UpdateConfig(path, func(c *store.Config) error { c.Settings.Secrets = store.SecretsFile; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Keep(); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceID == "" || got.Settings.Secrets != store.SecretsFile {
		t.Errorf("config after the device id was made: id %q, secrets %q; want an id and %q kept", got.DeviceID, got.Settings.Secrets, store.SecretsFile)
	}
	if tokens.device(got.Profiles[0]).ID != got.DeviceID {
		t.Errorf("the agent speaks for device %q, the config says %q", tokens.device(got.Profiles[0]).ID, got.DeviceID)
	}
}
