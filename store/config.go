package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store/privdir"
)

// Schema is the version of the config file format this build reads and
// writes. Load refuses a file with a higher one rather than drop what a
// newer Tokentray wrote there, and migrates one with a lower one.
const Schema = 1

// migrations[n] turns a schema n document into schema n+1. A step works on
// the raw JSON object, so it needs no Go type for a format no longer
// written; the array's length makes a missing step a compile error.
var migrations = [Schema]func(doc map[string]json.RawMessage) error{
	0: migrateV0,
}

// migrateV0 upgrades schema 0: a file without "schema", as the pre-release
// builds wrote and people write by hand. Its profiles had no "flow", since
// the identity flow was the only one.
func migrateV0(doc map[string]json.RawMessage) error {
	raw, ok := doc["profiles"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var profiles []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &profiles); err != nil {
		return err
	}
	for _, p := range profiles {
		if f, ok := p["flow"]; !ok || string(f) == `""` || string(f) == "null" {
			p["flow"] = json.RawMessage(`"` + FlowIdentity + `"`)
		}
	}
	var err error
	doc["profiles"], err = json.Marshal(profiles)
	return err
}

// Profile is one API client: which flow fetches its tokens, from where, and
// on which network. Its secrets live in the keychain under its Name, never
// here.
type Profile struct {
	Name    string `json:"name"`
	Flow    string `json:"flow"` // FlowIdentity or FlowWeb
	BaseURL string `json:"base_url"`

	// The identity flow (PROTOCOLS.md §1); its secret is the client secret,
	// and for a signed-in account also the uid signature. UID and
	// SignatureTimestamp (Unix seconds) are empty for an anonymous device;
	// they are not secret, the signature over them is.
	ClientKey          string `json:"client_key,omitempty"`
	Network            string `json:"network,omitempty"` // "auto" (or empty) | wifi | ethernet | cellular | other
	UID                string `json:"uid,omitempty"`
	SignatureTimestamp string `json:"signature_timestamp,omitempty"`

	// The web grant flow (PROTOCOLS.md §2); its secrets are the client
	// secret and the session token.
	ClientID string `json:"client_id,omitempty"`
	SubType  string `json:"sub_type,omitempty"` // "user" (or empty) | "organization"
	Sub      string `json:"sub,omitempty"`      // a UUID4
	Scope    string `json:"scope,omitempty"`    // space separated

	// DeviceModel and DeviceVersion replace device_info's model and version
	// (PROTOCOLS.md §1: "desktop" and "Chrome" by default) for this profile
	// only; empty means the default. The OS name and version are always
	// detected.
	DeviceModel   string `json:"device_model,omitempty"`
	DeviceVersion string `json:"device_version,omitempty"`

	// Proxy is where the agent serves this profile's local proxy
	// (127.0.0.1:PORT or unix:PATH); empty for none. proxy.ParseAddress
	// checks it, for `tokentray proxy` and the window's editor alike.
	Proxy string `json:"proxy,omitempty"`
}

// DeviceInfo returns detected with p's overrides applied.
func (p Profile) DeviceInfo(detected auth.DeviceInfo) auth.DeviceInfo {
	if p.DeviceModel != "" {
		detected.Model = p.DeviceModel
	}
	if p.DeviceVersion != "" {
		detected.Version = p.DeviceVersion
	}
	return detected
}

// The flows a profile can use.
const (
	FlowIdentity = "identity"
	FlowWeb      = "web"
)

// Config is the content of config.json.
type Config struct {
	Schema   int       `json:"schema"`
	DeviceID string    `json:"device_id"`
	Profiles []Profile `json:"profiles"`
	Settings Settings  `json:"settings,omitzero"`
}

// Settings are the app-wide choices made in the window's Settings. Every
// zero value is the default, so a config without them reads as before.
type Settings struct {
	// ClipboardClearSeconds is how long a copied token stays on the
	// clipboard: nil means DefaultClipboardClear, 0 never clears.
	ClipboardClearSeconds *int `json:"clipboard_clear_seconds,omitempty"`

	// NotifyFirstUse has the agent notify the first time a program that
	// never had a profile's token gets it (by the access log).
	NotifyFirstUse bool `json:"notify_first_use,omitempty"`

	// Secrets is where the profiles' secrets are kept: empty or
	// SecretsKeychain for the OS keychain, SecretsFile for the encrypted
	// file beside the config (SecretsFilePath). `tokentray secrets` changes
	// it and moves the secrets across; it is never changed as a fallback.
	Secrets string `json:"secrets,omitempty"`
	// PassphraseEnv names the environment variable holding the secrets
	// file's passphrase; empty means DefaultPassphraseEnv.
	PassphraseEnv string `json:"passphrase_env,omitempty"`
}

// DefaultClipboardClear is how long a copied token stays on the clipboard
// unless the settings say otherwise: long enough to paste it, short enough
// that it is gone before the next person at the desk.
const DefaultClipboardClear = 45 * time.Second

// ClipboardClear returns how long a copy stays on the clipboard; zero means
// it is never cleared.
func (s Settings) ClipboardClear() time.Duration {
	if s.ClipboardClearSeconds == nil {
		return DefaultClipboardClear
	}
	return time.Duration(max(*s.ClipboardClearSeconds, 0)) * time.Second
}

// DefaultPath is tokentray/config.json under the user config dir
// (~/.config on Linux, ~/Library/Application Support on macOS, %AppData% on
// Windows).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: finding the user config dir: %w", err)
	}
	return filepath.Join(dir, "tokentray", "config.json"), nil
}

// Load reads the config at path. A missing file is an empty config and no
// error, so a first run needs no setup. A file that does not parse, has an
// unusable profile, or comes from a newer Tokentray is an error naming the
// file; Load never writes, so such a file stays as it is for the user to
// mend.
func Load(path string) (*Config, error) {
	data, err := readShared(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{Schema: Schema}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// The schema is read on its own first: a newer format may not fit
	// Config, and "upgrade Tokentray" helps more than a type error.
	var version struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(data, &version); err != nil {
		return nil, parseError(path, data, err)
	}
	if version.Schema > Schema {
		return nil, fmt.Errorf("config %s has schema %d, but this Tokentray reads schema %d and older; upgrade Tokentray", path, version.Schema, Schema)
	}
	if version.Schema < 0 {
		return nil, fmt.Errorf("config %s has schema %d, which no Tokentray writes; fix the file", path, version.Schema)
	}
	var c Config
	// The file is decoded as it is first, so that a type error names the
	// line it is on, and again after migrating.
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, parseError(path, data, err)
	}
	if version.Schema < Schema {
		migrated, err := migrate(data, version.Schema)
		if err != nil {
			return nil, fmt.Errorf("config %s: migrating from schema %d: %v; fix or remove the file", path, version.Schema, err)
		}
		c = Config{}
		if err := json.Unmarshal(migrated, &c); err != nil {
			return nil, fmt.Errorf("config %s: migrating from schema %d: %v; fix or remove the file", path, version.Schema, err)
		}
	}
	seen := make(map[string]bool, len(c.Profiles))
	for _, p := range c.Profiles {
		if err := ValidateProfileName(p.Name); err != nil {
			return nil, fmt.Errorf("config %s: %w; fix the file", path, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("config %s: profile %q appears twice; fix the file", path, p.Name)
		}
		seen[p.Name] = true
	}
	c.Schema = Schema
	return &c, nil
}

// migrate runs the migrations from version up to Schema on data, in
// memory: the file changes only when the caller saves.
func migrate(data []byte, version int) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc == nil { // the file says null
		doc = map[string]json.RawMessage{}
	}
	for v := version; v < Schema; v++ {
		if err := migrations[v](doc); err != nil {
			return nil, err
		}
	}
	doc["schema"] = json.RawMessage(strconv.Itoa(Schema))
	return json.Marshal(doc)
}

// parseError names the file and, when encoding/json says where, the line.
// The config holds no secret, so quoting json's message is safe.
func parseError(path string, data []byte, err error) error {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset <= 0 || offset > int64(len(data)) {
		return fmt.Errorf("config %s does not parse: %v; fix or remove the file", path, err)
	}
	// Offset counts the bytes read up to and including the offending one.
	line := 1 + bytes.Count(data[:offset-1], []byte("\n"))
	return fmt.Errorf("config %s, line %d: %v; fix or remove the file", path, line, err)
}

// Save writes the config to path in the current Schema. The directory is
// made (or tightened to) 0700, and refused when it is not this user's (see
// privdir.Ensure); the file is 0600. The write is atomic: a
// temporary file in the same directory is written, synced and renamed over
// path, then the directory is synced, so a crash at any moment leaves the
// old file or the new one, never a torn one.
func (c *Config) Save(path string) error {
	out := *c
	out.Schema = Schema
	if out.Profiles == nil {
		out.Profiles = []Profile{} // "profiles": [] reads better than null
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	data = append(data, '\n')

	dir := filepath.Dir(path)
	if err := privdir.EnsureConfig(dir); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	removeStaleTemps(path)
	return nil
}

// staleTempAge is how old a temporary file of writeAtomic must be to count
// as left by a writer that was killed. A live writer finishes in well under
// a second; deleting the file of one that stalled longer only fails its
// rename, which keeps the config as it was and reports an error.
const staleTempAge = 10 * time.Minute

// removeStaleTemps deletes the temporary files of path's writers that died
// before renaming them, best effort: they hold an old config, or an old
// secrets file sealed like the new one, but would pile up.
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// writeAtomic replaces path with data through a synced temporary file in
// the same directory (rename is atomic only within one file system).
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = replaceFile(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// readShared reads the whole of path through openShared, so that a
// writer's replacing it meanwhile does not fail.
func readShared(path string) ([]byte, error) {
	f, err := openShared(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Profile returns the profile called name.
func (c *Config) Profile(name string) (Profile, bool) {
	i := c.index(name)
	if i < 0 {
		return Profile{}, false
	}
	return c.Profiles[i], true
}

// Put replaces the profile with p's name in place, keeping the order of the
// list, or appends p when there is none.
func (c *Config) Put(p Profile) {
	if i := c.index(p.Name); i >= 0 {
		c.Profiles[i] = p
		return
	}
	c.Profiles = append(c.Profiles, p)
}

// CheckProxyFree refuses addr as the proxy of profile name when another
// profile's proxy is there already: only one of them could listen.
func (c *Config) CheckProxyFree(name, addr string) error {
	if addr == "" {
		return nil
	}
	for _, other := range c.Profiles {
		if other.Name != name && other.Proxy == addr {
			return fmt.Errorf("profile %s's proxy is on %s already; choose another port or path", other.Name, addr)
		}
	}
	return nil
}

// Remove deletes the profile called name and reports whether there was
// one. Its keychain entries are Keychain.DeleteProfile's business.
func (c *Config) Remove(name string) bool {
	i := c.index(name)
	if i < 0 {
		return false
	}
	c.Profiles = slices.Delete(c.Profiles, i, i+1)
	return true
}

func (c *Config) index(name string) int {
	return slices.IndexFunc(c.Profiles, func(p Profile) bool { return p.Name == name })
}

// EnsureDeviceID gives this installation a random device id when it has
// none and reports whether it did, so the caller knows to Save. The id is
// then kept for good: the server knows the device by it.
func (c *Config) EnsureDeviceID() bool {
	if c.DeviceID != "" {
		return false
	}
	c.DeviceID = uuid.NewString()
	return true
}

// ValidateProfileName accepts 1 to 64 ASCII letters, digits, '-', '_' and
// '.', not starting with '.'. Such a name is safe as a keychain account
// prefix (no '/'), a file name (no "..", no hidden file) and a menu label.
func ValidateProfileName(name string) error {
	const rule = "a profile name is 1 to 64 characters of letters, digits, '-', '_' and '.', and does not start with '.'"
	if name == "" {
		return errors.New("the profile name is empty: " + rule)
	}
	if len(name) > 64 {
		return fmt.Errorf("the profile name is %d bytes long: %s", len(name), rule)
	}
	if name[0] == '.' {
		return fmt.Errorf("the profile name %q starts with '.': %s", name, rule)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("the profile name %q has %q: %s", name, r, rule)
		}
	}
	return nil
}
