package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
)

func configPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "tokentray", "config.json")
}

func TestConfigRoundTrip(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	c := &Config{}
	c.EnsureDeviceID()
	c.Put(Profile{Name: "prod", Flow: "identity", BaseURL: "https://api.example.com", ClientKey: "key-1", Network: "wifi"})
	c.Put(Profile{Name: "staging", Flow: "identity", BaseURL: "https://staging.example.com"})
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := *c
	want.Schema = Schema // Save writes the current schema whatever c said
	if got.Schema != want.Schema || got.DeviceID != want.DeviceID || len(got.Profiles) != 2 ||
		got.Profiles[0] != want.Profiles[0] || got.Profiles[1] != want.Profiles[1] {
		t.Errorf("Load after Save = %+v, want %+v", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load of a missing file: %v", err)
	}
	if c.Schema != Schema || c.DeviceID != "" || len(c.Profiles) != 0 {
		t.Errorf("Load of a missing file = %+v, want an empty config of schema %d", c, Schema)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("Load created %s; it must never write", filepath.Dir(path))
	}
}

func TestLoadUnparsableFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, content, where string
	}{
		{"syntax", "{\n  \"schema\": 1,\n  \"profiles\": [\n    {\"name\": \"a\",}\n  ]\n}\n", ", line 4: invalid character"},
		{"type", "{\n  \"schema\": 1,\n  \"device_id\": 42\n}\n", ", line 3: json: cannot unmarshal number"},
		{"truncated", "{\n\"schema\": 1, \"profiles\": [", ", line 2: unexpected end of JSON input"},
		{"empty", "", "does not parse: unexpected end"},
		{"bad profile name", `{"schema": 1, "profiles": [{"name": "a/b"}]}`, `"a/b"`},
		{"duplicate profile", `{"schema": 1, "profiles": [{"name": "a"}, {"name": "a"}]}`, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := configPath(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tc.where) {
				t.Errorf("error %q should name %s and contain %q", msg, path, tc.where)
			}
			if data, _ := os.ReadFile(path); string(data) != tc.content {
				t.Errorf("Load changed the file to %q", data)
			}
		})
	}
}

func TestLoadNewerSchema(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// A newer format may not even fit Config: the schema must still win.
	content := `{"schema": 2, "device_id": "d", "profiles": {"prod": {}}}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "schema 2") || !strings.Contains(err.Error(), "upgrade Tokentray") {
		t.Fatalf("Load of schema 2 = %v, want an error asking to upgrade", err)
	}
}

func TestSaveModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	t.Run("new dir", func(t *testing.T) {
		path := configPath(t)
		if err := (&Config{}).Save(path); err != nil {
			t.Fatal(err)
		}
		assertMode(t, filepath.Dir(path), 0o700)
		assertMode(t, path, 0o600)
	})
	t.Run("loose dir and file", func(t *testing.T) {
		path := configPath(t)
		if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(`{"schema": 1}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(path), 0o755); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := (&Config{}).Save(path); err != nil {
			t.Fatal(err)
		}
		assertMode(t, filepath.Dir(path), 0o700)
		assertMode(t, path, 0o600)
	})
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		// No modes there: the ACL of the user's profile directory keeps
		// other users out, which only a real Windows can judge.
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

func TestSaveLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	c := &Config{}
	for _, name := range []string{"a", "b", "c"} {
		c.Put(Profile{Name: name, Flow: "identity"})
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "config.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want only config.json", names)
	}
}

// Save deletes the temporary files killed writers left, once they are old
// enough not to be a live writer's, and nothing else.
func TestSaveRemovesStaleTempFiles(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-staleTempAge - time.Minute)
	files := map[string]bool{ // name: whether Save must leave it
		".config.json.1234.tmp":  false, // a killed writer's
		".config.json.98765.tmp": true,  // fresh: maybe a live writer's
		".other.json.1.tmp":      true,  // another file's
		"config.json.tmp":        true,  // not writeAtomic's name
		".config.json.5.bak":     true,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if name != ".config.json.98765.tmp" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := (&Config{}).Save(path); err != nil {
		t.Fatal(err)
	}
	for name, keep := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists %v after Save, want %v", name, exists, keep)
		}
	}
}

// A failed Save must leave the old file whole and no temp file behind. The
// failure is a rename onto a directory, which fails after the temp file is
// written and synced: the last moment anything can go wrong.
func TestSaveFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	old := &Config{DeviceID: "old"}
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocked := filepath.Join(filepath.Dir(path), "blocked")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (&Config{DeviceID: "new"}).Save(blocked); err == nil {
		t.Fatal("Save onto a non-empty directory succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the old file changed: %q, %v", after, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func TestEnsureDeviceIDStable(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.EnsureDeviceID() || c.DeviceID == "" {
		t.Fatal("EnsureDeviceID on an empty config should set an id")
	}
	id := c.DeviceID
	if c.EnsureDeviceID() || c.DeviceID != id {
		t.Fatal("a second EnsureDeviceID changed the id")
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err = Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.EnsureDeviceID() || c.DeviceID != id {
			t.Fatalf("after Save and Load the id is %q (changed: %v), want %q", c.DeviceID, c.DeviceID != id, id)
		}
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPutProfileRemove(t *testing.T) {
	t.Parallel()
	c := &Config{}
	c.Put(Profile{Name: "a", BaseURL: "https://a1"})
	c.Put(Profile{Name: "b", BaseURL: "https://b"})
	c.Put(Profile{Name: "a", BaseURL: "https://a2"})
	if len(c.Profiles) != 2 || c.Profiles[0].Name != "a" || c.Profiles[0].BaseURL != "https://a2" {
		t.Fatalf("Put should replace in place: %+v", c.Profiles)
	}
	if p, ok := c.Profile("b"); !ok || p.BaseURL != "https://b" {
		t.Errorf("Profile(b) = %+v, %v", p, ok)
	}
	if _, ok := c.Profile("zz"); ok {
		t.Error("Profile(zz) found a profile that was never put")
	}
	if !c.Remove("a") || c.Remove("a") {
		t.Error("Remove(a) should report true once, then false")
	}
	if len(c.Profiles) != 1 || c.Profiles[0].Name != "b" {
		t.Errorf("after Remove: %+v", c.Profiles)
	}
}

func TestValidateProfileName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "prod", "Prod-2_eu.v1", "a.", strings.Repeat("x", 64)} {
		if err := ValidateProfileName(name); err != nil {
			t.Errorf("ValidateProfileName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".hidden", "..", "a/b", "a b", "é", "a\x00", strings.Repeat("x", 65)} {
		err := ValidateProfileName(name)
		if err == nil {
			t.Errorf("ValidateProfileName(%q) = nil, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), "letters, digits, '-', '_' and '.'") {
			t.Errorf("ValidateProfileName(%q) = %q, which does not say what is allowed", name, err)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CONFIG_HOME steers os.UserConfigDir on Linux only")
	}
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	got, err := DefaultPath()
	if want := filepath.Join(dir, "tokentray", "config.json"); err != nil || got != want {
		t.Errorf("DefaultPath() = %q, %v; want %q", got, err, want)
	}
}

// A file without "schema" is schema 0: its profiles lacked "flow", which
// meant the identity flow. Load migrates it in memory and leaves the file
// alone; Save then writes the current schema.
func TestLoadMigratesSchema0(t *testing.T) {
	t.Parallel()
	path := configPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	v0 := `{
  "device_id": "dev-1",
  "profiles": [
    {"name": "prod", "base_url": "https://api.example.com", "client_key": "k", "network": "wifi"},
    {"name": "web", "flow": "web", "base_url": "https://web.example.com", "client_id": "c"}
  ]
}
`
	if err := os.WriteFile(path, []byte(v0), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Profile{
		{Name: "prod", Flow: FlowIdentity, BaseURL: "https://api.example.com", ClientKey: "k", Network: "wifi"},
		{Name: "web", Flow: FlowWeb, BaseURL: "https://web.example.com", ClientID: "c"},
	}
	if c.Schema != Schema || c.DeviceID != "dev-1" || !slices.Equal(c.Profiles, want) {
		t.Fatalf("Load of schema 0 = %+v, want schema %d, dev-1, %+v", c, Schema, want)
	}
	if data, _ := os.ReadFile(path); string(data) != v0 {
		t.Errorf("Load rewrote the file: %s", data)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"schema": 1`)) || !bytes.Contains(data, []byte(`"flow": "identity"`)) {
		t.Errorf("Save after migrating wrote %s", data)
	}

	for content, want := range map[string]string{
		`{"profiles": {"prod": {}}}`: "line 1: json: cannot unmarshal object",
		`{"schema": -1}`:             "schema -1",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want an error with %q", content, err, want)
		}
	}
}

// Every step from schema 0 to Schema is there (the array type checks the
// count; this checks none is nil).
func TestMigrationsComplete(t *testing.T) {
	t.Parallel()
	for v, m := range migrations {
		if m == nil {
			t.Errorf("no migration from schema %d to %d", v, v+1)
		}
	}
}

// A writer killed at any moment leaves the config whole: the old content
// or the new, never a torn or empty file. The writer (testdata/configwriter,
// built once without the race detector, whose start-up would dominate the
// test) saves two known configs in turn; it is SIGKILLed 200 times at
// random moments, by 8 workers at once to keep the test quick.
func TestSaveSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is Unix")
	}
	dir := t.TempDir()
	writer := filepath.Join(dir, "configwriter")
	build := exec.Command("go", "build", "-o", writer, "./testdata/configwriter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the writer: %v\n%s", err, out)
	}
	var want [2][]byte
	var sources [2]string
	for i, c := range crashContents() {
		sources[i] = filepath.Join(dir, fmt.Sprintf("content-%d.json", i))
		if err := c.Save(sources[i]); err != nil {
			t.Fatal(err)
		}
		want[i], _ = os.ReadFile(sources[i])
	}
	const kills, workers = 200, 8
	var mu sync.Mutex
	seen := [2]int{}
	strays := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			path := configPath(t)
			for range kills / workers {
				cmd := exec.Command(writer, path, sources[0], sources[1])
				cmd.Stderr = os.Stderr
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Error(err)
					return
				}
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
					t.Errorf("worker %d: the writer said %q", w, line)
					cmd.Process.Kill()
					cmd.Wait()
					return
				}
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()

				data, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("after a kill: %v", err)
					return
				}
				i := slices.IndexFunc(want[:], func(w []byte) bool { return bytes.Equal(w, data) })
				if i < 0 {
					t.Errorf("after a kill the config is neither content: %q", data)
					return
				}
				if _, err := Load(path); err != nil {
					t.Errorf("after a kill: %v", err)
					return
				}
				mu.Lock()
				seen[i]++
				mu.Unlock()
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			mu.Lock()
			strays += len(entries) - 1
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("after %d kills: old/new content %v; temp files left by killed writers: %d", kills, seen, strays)
	if seen[0] == 0 || seen[1] == 0 {
		t.Errorf("the kills found only one of the contents (%v): they did not land mid-loop", seen)
	}
}

// FuzzLoad: Load never panics, and what it accepts saves and loads back
// to the same config.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		`{"schema": 1, "device_id": "d", "profiles": [{"name": "a", "flow": "identity", "base_url": "https://x"}]}`,
		`{"device_id": "d", "profiles": [{"name": "a"}, {"name": "b", "flow": ""}]}`,
		`{"schema": 0, "profiles": null}`,
		`null`, `{}`, `[]`, `{"schema": 2}`, `{"schema": -1}`, `{"profiles": {"a": {}}}`,
		`{"schema": 1, "profiles": [{"name": "a"}, {"name": "a"}]}`,
		"{\"device_id\": \"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(in)
		if err != nil {
			return
		}
		if err := c.Save(out); err != nil {
			t.Fatalf("Save of a loaded config: %v", err)
		}
		again, err := Load(out)
		if err != nil {
			t.Fatalf("Load of a saved config: %v", err)
		}
		if again.Schema != c.Schema || again.DeviceID != c.DeviceID || !slices.Equal(again.Profiles, c.Profiles) {
			t.Fatalf("Load, Save, Load changed %+v into %+v", c, again)
		}
	})
}

func TestProfileDeviceInfoOverrides(t *testing.T) {
	t.Parallel()
	detected := auth.DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Linux", OSVersion: "12"}
	if got := (Profile{}).DeviceInfo(detected); got != detected {
		t.Errorf("no overrides: got %+v, want %+v", got, detected)
	}
	got := Profile{DeviceModel: "laptop", DeviceVersion: "Firefox"}.DeviceInfo(detected)
	want := auth.DeviceInfo{Model: "laptop", Version: "Firefox", OSName: "Linux", OSVersion: "12"}
	if got != want {
		t.Errorf("overrides: got %+v, want %+v", got, want)
	}
}

func TestSettingsClipboardClear(t *testing.T) {
	t.Parallel()
	seconds := func(n int) *int { return &n }
	for _, tc := range []struct {
		setting *int
		want    time.Duration
	}{
		{nil, DefaultClipboardClear},
		{seconds(0), 0},
		{seconds(10), 10 * time.Second},
		{seconds(-5), 0},
	} {
		if got := (Settings{ClipboardClearSeconds: tc.setting}).ClipboardClear(); got != tc.want {
			t.Errorf("ClipboardClearSeconds %v: got %v, want %v", tc.setting, got, tc.want)
		}
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	zero := 0
	c := &Config{Schema: Schema, Settings: Settings{ClipboardClearSeconds: &zero}}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Settings.ClipboardClear() != 0 {
		t.Errorf("a saved 0 (never clear) read back as %v", got.Settings.ClipboardClear())
	}
	// An empty Settings is left out, so configs without settings look as before.
	c.Settings = Settings{}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "settings") {
		t.Errorf("empty settings written: %s", data)
	}
}
