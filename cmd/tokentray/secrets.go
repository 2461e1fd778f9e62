package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/store"
)

var secretsCommand = command{
	name:     "secrets",
	synopsis: "tokentray secrets [keychain|file]",
	help: `Show where the profiles' secrets are kept, or move them there.
"keychain" is the OS keychain, the default. "file" is an encrypted file
beside the config, for machines without a keychain (headless Linux, WSL):
sealed with a key derived from a passphrase (Argon2id, XChaCha20-Poly1305).
The passphrase comes from $TOKENTRAY_PASSPHRASE (or the variable that
"passphrase_env" in the config's settings names), else it is asked for on
the terminal, twice when the file is made. The agent has no terminal: start
it with the variable set. Tokentray never picks the file by itself, not
even when the keychain fails.

Moving holds the config's and every profile's lock, copies each secret,
reads it back, switches the config and only then deletes the old copies,
so a failure loses nothing; run it again to finish a move cut short. A
copy is deleted only where the other place holds the same value, and an
entry only the destination holds is kept: either may be the only one, if
the config named the wrong place. Quit the agent and close the window
first, and start the agent again afterwards.`,
	run: runSecrets,
}

func runSecrets(ctx context.Context, args []string, std stdio) error {
	if len(args) > 1 {
		return usageError{"secrets takes at most one argument: keychain or file"}
	}
	path, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if len(args) == 0 {
		_, err := fmt.Fprintln(std.out, describeSecrets(path, cfg.Settings))
		return err
	}
	to := args[0]
	if to != store.SecretsKeychain && to != store.SecretsFile {
		return usageError{fmt.Sprintf("secrets go to keychain or file, not %q", to)}
	}
	// The agent holds the Keychain it started with: moving under it would
	// leave it reading the old place.
	if client, err := localapi.DefaultClient(); err == nil {
		if _, err := client.Status(ctx); err == nil {
			return errors.New("the agent is running: quit it (tray menu → Quit), run this again, then start the agent again")
		}
	}
	// Nor while the window is open: what it is saving or testing when the
	// move starts was read from the old place.
	if localapi.GUIOpen() {
		return errors.New("the Tokentray window is open: close it, run this again, then open it again")
	}
	moved, err := store.MoveSecrets(ctx, path, to, askPassphrase())
	if errors.Is(err, store.ErrSameBackend) {
		fmt.Fprintf(std.err, "Nothing to move. %s\n", describeSecrets(path, cfg.Settings))
		if err != store.ErrSameBackend {
			return err // entries left in the other place: the person must look
		}
		return nil
	}
	if err != nil {
		return err
	}
	cfg.Settings.Secrets = to
	fmt.Fprintf(std.err, "Moved %d entries of %d profiles. %s\n", moved, len(cfg.Profiles), describeSecrets(path, cfg.Settings))
	if to == store.SecretsFile {
		fmt.Fprintf(std.err, "Start the agent with $%s set to the passphrase, or it cannot read them.\n", cfg.Settings.PassphraseVar())
	}
	return nil
}

// describeSecrets says where s keeps the secrets.
func describeSecrets(configPath string, s store.Settings) string {
	if s.SecretsBackend() == store.SecretsFile {
		return fmt.Sprintf("Secrets: the encrypted file %s (passphrase from $%s, or asked for on a terminal).", store.SecretsFilePath(configPath), s.PassphraseVar())
	}
	return fmt.Sprintf("Secrets: the OS keychain, service %q.", store.Service)
}

// openSecrets opens where the profiles' secrets are kept. Its callers read
// the config themselves first, so a path that cannot be found has already
// been reported.
func openSecrets() store.Keychain {
	path, _ := store.DefaultPath()
	return store.OpenKeychain(path, askPassphrase())
}

// askPassphrase asks for the secrets file's passphrase on the terminal,
// without echo; nil when standard input is not one, so that a script is
// told to set the variable instead of hanging.
func askPassphrase() store.Passphrase {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(os.Stderr, prompt)
		defer restoreOnInterrupt(fd)()
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	asked := false
	return func(create bool) (string, error) {
		if !create {
			// Asked again only when the last one did not open the file.
			prompt := "Passphrase of the secrets file: "
			if asked {
				prompt = "That does not open it. Passphrase of the secrets file: "
			}
			asked = true
			return read(prompt)
		}
		p, err := read("New passphrase for the secrets file: ")
		if err != nil || p == "" {
			return p, err
		}
		again, err := read("The same passphrase again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the two passphrases differ; nothing was written")
		}
		return p, nil
	}
}
