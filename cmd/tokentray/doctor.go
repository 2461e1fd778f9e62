package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/term"

	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

var doctorCommand = command{
	name:     "doctor",
	synopsis: "tokentray doctor [--delete]",
	help: `Check where the secrets are kept (keychain reachable and unlocked, or the
secrets file opens), that every profile has its secrets, and list the
entries under the service "tokentray" that no profile owns: left by a
crash or an older version. Values are never shown. On a terminal it offers
to delete those orphans; --delete deletes them without asking. Exits 3
when something is left for you to do: orphans kept, or a profile missing
a secret. Listing the keychain works on Linux (Secret Service) and for the
secrets file; on macOS and Windows it is not supported yet.`,
	run: runDoctor,
}

func runDoctor(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("doctor")
	del := fs.Bool("delete", false, "delete the orphans without asking")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	fmt.Fprintln(std.out, describeSecrets(path, cfg.Settings))
	k := openSecrets()
	if err := k.Check(); err != nil {
		return err
	}
	fmt.Fprintln(std.out, "Reachable and readable.")
	names := make([]string, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		names = append(names, p.Name)
	}
	entries, err := k.Entries()
	if errors.Is(err, store.ErrListUnsupported) {
		fmt.Fprintln(std.out, "Listing the keychain's entries is not supported on this platform yet: no check for orphans.")
		return nil
	}
	if err != nil {
		return err
	}
	var todo []string
	for _, p := range cfg.Profiles {
		if missing := missingSecrets(p, entries); len(missing) > 0 {
			fmt.Fprintf(std.out, "Profile %s has no %s: add it again with 'tokentray add %s …'.\n", p.Name, strings.Join(missing, " and no "), p.Name)
			todo = append(todo, fmt.Sprintf("profile %s lacks secrets", p.Name))
		}
	}
	orphans, err := k.Orphans(names)
	if err != nil {
		return err
	}
	if len(orphans) == 0 {
		fmt.Fprintf(std.out, "No orphans: every entry under service %q belongs to a profile.\n", store.Service)
		return needsAction(todo)
	}
	fmt.Fprintf(std.out, "%d entries under service %q belong to no profile:\n", len(orphans), store.Service)
	for _, e := range orphans {
		account := e.Account
		if account == "" {
			account = "(no account name)"
		}
		if e.Item != "" {
			account += "  " + e.Item
		}
		fmt.Fprintf(std.out, "  %s\n", account)
	}
	if !*del {
		if !term.IsTerminal(int(std.in.Fd())) {
			return needsAction(append(todo, fmt.Sprintf("%d orphaned entries kept: delete them with 'tokentray doctor --delete'", len(orphans))))
		}
		fmt.Fprint(std.err, "Delete them? [y/N] ")
		answer, _ := bufio.NewReader(std.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return needsAction(append(todo, fmt.Sprintf("%d orphaned entries kept", len(orphans))))
		}
	}
	for _, e := range orphans {
		if err := k.DeleteOrphan(ctx, path, e); err != nil {
			return err
		}
	}
	fmt.Fprintf(std.out, "Deleted %d orphaned entries.\n", len(orphans))
	return needsAction(todo)
}

// missingSecrets names the secrets p needs that entries lack.
func missingSecrets(p store.Profile, entries []store.Entry) []string {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Account] = true
	}
	var missing []string
	for _, kind := range profile.NeededSecrets(p) {
		if !have[kind.Account(p.Name)] {
			missing = append(missing, kind.String())
		}
	}
	return missing
}

// needsAction is the exit status 3 when something is left to the person.
func needsAction(todo []string) error {
	if len(todo) == 0 {
		return nil
	}
	return &statusError{status: exitUserMust, err: errors.New(strings.Join(todo, "; "))}
}
