package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokentray", "config.json")
	c, err := Load(path)
	if err != nil || len(c.Profiles) != 0 || c.Schema != Schema {
		t.Fatalf("Load of a missing file: %+v, %v; want an empty config", c, err)
	}
	if !c.EnsureDeviceID() || c.EnsureDeviceID() {
		t.Fatal("EnsureDeviceID should set an id once, then keep it")
	}
	c.Put(Profile{Name: "work", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k1", Network: "auto"})
	c.Put(Profile{Name: "home", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k2"})
	c.Put(Profile{Name: "work", Flow: "identity", BaseURL: "https://api.nfl.com", ClientKey: "k3"})
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != c.DeviceID || len(got.Profiles) != 2 {
		t.Fatalf("got %+v, want %+v", got, c)
	}
	if p, ok := got.Profile("work"); !ok || p.ClientKey != "k3" || got.Profiles[0].Name != "work" {
		t.Errorf("Put should replace in place: %+v", got.Profiles)
	}
	if !got.Remove("home") || got.Remove("home") || len(got.Profiles) != 1 {
		t.Errorf("Remove: %+v", got.Profiles)
	}
}

func TestSaveModesAndNoTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokentray")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	c := &Config{Schema: Schema}
	for range 3 {
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the dir holds %d entries, want only config.json", len(entries))
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.json")
	content := "{\n  \"schema\": 1,\n  \"profiles\": [,]\n}\n"
	os.WriteFile(broken, []byte(content), 0o600)
	_, err := Load(broken)
	if err == nil || !strings.Contains(err.Error(), broken) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("got %v; want an error naming the file and line 3", err)
	}
	if data, _ := os.ReadFile(broken); string(data) != content {
		t.Error("Load changed a file it could not parse")
	}
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"schema": 99}`), 0o600)
	if _, err := Load(newer); err == nil || !strings.Contains(err.Error(), "newer Tokentray") {
		t.Errorf("got %v; want a newer-schema error", err)
	}
}

func TestValidateProfileName(t *testing.T) {
	for _, ok := range []string{"work", "a", "prod-eu_1.2", strings.Repeat("x", 64)} {
		if err := ValidateProfileName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "a/b", "with space", strings.Repeat("x", 65), "ü"} {
		if err := ValidateProfileName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
