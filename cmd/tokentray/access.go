package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/profile"
)

var accessCommand = command{
	name:     "access",
	synopsis: "tokentray access [NAME] [--json]",
	help: `Print who took which token from the agent, oldest first: the time, the
profile, the channel (token, exec, copy, proxy) and the process that got it
(for 'tokentray token' and 'exec', the program that ran tokentray). Never a
token. With NAME, only that profile's. --json prints one object per line
with time, profile, channel, pid and exe. The records are kept in
access.jsonl beside the config; the oldest are dropped past ` + fmt.Sprint(access.MaxRecords) + `.`,
	run: runAccess,
}

func runAccess(_ context.Context, args []string, std stdio) error {
	fs := newFlagSet("access")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	name := ""
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if name != "" {
		if _, ok := cfg.Profile(name); !ok {
			return profile.Unknown(name, cfg.Profiles)
		}
	}
	records, err := access.Read(access.Path(path), name)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(std.out)
		for _, r := range records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(records) == 0 {
		fmt.Fprintln(std.err, "No token has left the agent yet.")
		return nil
	}
	w := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tPROFILE\tCHANNEL\tPID\tPROGRAM")
	for _, r := range records {
		pid, exe := "-", r.Exe
		if r.PID != 0 {
			pid = fmt.Sprint(r.PID)
		}
		if exe == "" {
			exe = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format(time.DateTime), r.Profile, r.Channel, pid, exe)
	}
	return w.Flush()
}
