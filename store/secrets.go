package store

import (
	"path/filepath"
)

// The places Settings.Secrets can name.
const (
	SecretsKeychain = "keychain"
	SecretsFile     = "file"
)

// SecretsFilePath is where the secrets file of the config at configPath
// lives: beside it, in the same 0700 directory.
func SecretsFilePath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "secrets.enc")
}

// failing is the keyring of a Keychain that cannot be opened: every call
// returns why.
type failing struct{ err error }

func (f failing) Set(service, user, password string) error { return f.err }
func (f failing) Get(service, user string) (string, error) { return "", f.err }
func (f failing) Delete(service, user string) error        { return f.err }
func (f failing) DeleteAll(service string) error           { return f.err }
