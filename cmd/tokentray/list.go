package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

var listCommand = command{
	name:     "list",
	synopsis: "tokentray list [--json]",
	help: `List every profile with its flow, base URL, token state and expiry;
never a secret. The running agent says what it holds: "valid", "expired",
"none", "refreshing", "retrying", "needs user" (with the reason) or
"keychain not answering", and "refused by its API" when the profile's proxy
found its API refusing even a renewed token (--json: "refused" says why).
With no agent the keychain's token records say "valid", "expired" or "none".`,
	run: runList,
}

// listEntry is one profile as list shows it.
type listEntry struct {
	Name    string `json:"name"`
	Flow    string `json:"flow"`
	BaseURL string `json:"base_url"`
	State   string `json:"state"` // state's words, or "expired"
	state   auth.State
	Expiry  time.Time `json:"expiry,omitzero"`
	Error   string    `json:"error,omitempty"`
	Refused string    `json:"refused,omitempty"` // why its API refuses the valid token
	Proxy   string    `json:"proxy,omitempty"`   // where its local proxy listens
}

func runList(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("list")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	entries, err := listStates(ctx, cfg, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(std.err, "No profiles yet; add one with 'tokentray add NAME …'.")
		return nil
	}
	w := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tFLOW\tBASE URL\tSTATE\tEXPIRES")
	for _, e := range entries {
		expires := "-"
		if !e.Expiry.IsZero() {
			expires = e.Expiry.Local().Format(time.DateTime)
		}
		state := e.State
		if e.Refused != "" {
			state += ", refused by its API"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Flow, e.BaseURL, state, expires)
	}
	return w.Flush()
}

// listStates gives each configured profile its state: the agent's view
// when one runs, else the token record in the keychain. The config decides
// which profiles there are, so a profile added since the agent last
// reloaded still shows.
func listStates(ctx context.Context, cfg *store.Config, now time.Time) ([]listEntry, error) {
	entries := make([]listEntry, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		entries = append(entries, listEntry{Name: p.Name, Flow: p.Flow, BaseURL: p.BaseURL, Proxy: p.Proxy})
	}
	client, err := localapi.DefaultClient()
	if err != nil {
		return nil, err
	}
	status, err := client.Status(ctx)
	switch {
	case err == nil:
		known := map[string]auth.Event{}
		for _, e := range status.Profiles {
			known[e.Profile] = e
		}
		for i := range entries {
			if e, ok := known[entries[i].Name]; ok {
				entries[i].state, entries[i].Expiry, entries[i].Error, entries[i].Refused = e.State, e.Expiry, e.Err, e.Refused
			}
		}
	case errors.Is(err, localapi.ErrNotRunning):
		k := openSecrets()
		for i := range entries {
			tok, found, err := k.LoadToken(entries[i].Name)
			if err != nil {
				return nil, err
			}
			if found {
				entries[i].state, entries[i].Expiry = auth.StateValid, tok.Expiry
			}
		}
	default:
		return nil, err
	}
	for i := range entries {
		entries[i].State = entries[i].state.String()
		// A token past its expiry is expired whoever last held it.
		if entries[i].state == auth.StateValid && !entries[i].Expiry.After(now) {
			entries[i].State = "expired"
		}
	}
	return entries, nil
}
