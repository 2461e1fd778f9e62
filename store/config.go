// Package store keeps Tokentray's state: the profiles config (JSON, no
// secrets) under the user config dir, and every secret in the OS keychain.
// It knows files and the keychain, nothing of HTTP.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Schema is the version of the config file this build writes.
const Schema = 1

// Profile is one set of client credentials and where to use them. Its
// secrets live in the keychain under the profile's name, never here.
type Profile struct {
	Name      string `json:"name"`
	Flow      string `json:"flow"` // "identity"
	BaseURL   string `json:"base_url"`
	ClientKey string `json:"client_key,omitempty"`
	Network   string `json:"network,omitempty"` // "auto" (or empty), wifi, ethernet, cellular or other
}

// Config is the content of config.json.
type Config struct {
	Schema   int       `json:"schema"`
	DeviceID string    `json:"device_id"`
	Profiles []Profile `json:"profiles"`
}

// DefaultPath is tokentray/config.json under the user config dir.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config dir: %w", err)
	}
	return filepath.Join(dir, "tokentray", "config.json"), nil
}

// Load reads the config at path. A missing file is an empty config; a file
// that does not parse is an error naming the file and the line, and is left
// as it is for the user to mend.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{Schema: Schema}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line := 1 + bytes.Count(data[:syntax.Offset], []byte("\n"))
			return nil, fmt.Errorf("%s, line %d: %v: fix or remove the file", path, line, err)
		}
		return nil, fmt.Errorf("%s: %v: fix or remove the file", path, err)
	}
	if c.Schema > Schema {
		return nil, fmt.Errorf("%s was written by a newer Tokentray (config schema %d, this one reads up to %d): upgrade Tokentray", path, c.Schema, Schema)
	}
	c.Schema = Schema
	return &c, nil
}

// Save writes the config to path atomically: a crash at any moment leaves
// either the old file or the new one, never a mix.
func (c *Config) Save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// MkdirAll keeps the mode of a directory that exists: tighten it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	// CreateTemp makes the file 0600 already; fsync before rename so the
	// new name never points at data still in flight.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// Profile returns the profile called name.
func (c *Config) Profile(name string) (Profile, bool) {
	i := slices.IndexFunc(c.Profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return c.Profiles[i], true
}

// Put replaces the profile with p's name, or appends p.
func (c *Config) Put(p Profile) {
	i := slices.IndexFunc(c.Profiles, func(q Profile) bool { return q.Name == p.Name })
	if i < 0 {
		c.Profiles = append(c.Profiles, p)
		return
	}
	c.Profiles[i] = p
}

// Remove deletes the profile called name and reports whether there was one.
func (c *Config) Remove(name string) bool {
	n := len(c.Profiles)
	c.Profiles = slices.DeleteFunc(c.Profiles, func(p Profile) bool { return p.Name == name })
	return len(c.Profiles) != n
}

// EnsureDeviceID gives the installation its device id when it has none and
// reports whether it did; the caller saves. The id is then kept for good.
func (c *Config) EnsureDeviceID() bool {
	if c.DeviceID != "" {
		return false
	}
	c.DeviceID = uuid.NewString()
	return true
}

// ValidateProfileName accepts names that are safe as keychain accounts,
// file names and menu labels.
func ValidateProfileName(name string) error {
	const allowed = "letters, digits, '-', '_' and '.', not starting with '.'"
	if name == "" || len(name) > 64 {
		return fmt.Errorf("a profile name has 1 to 64 characters: %s", allowed)
	}
	if strings.HasPrefix(name, ".") {
		return fmt.Errorf("profile name %q starts with '.': use %s", name, allowed)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("profile name %q has %q: use %s", name, r, allowed)
		}
	}
	return nil
}
