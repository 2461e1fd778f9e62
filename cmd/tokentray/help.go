package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tokentray/tokentray/auth"
)

var helpCommand = command{
	name:     "help",
	synopsis: "tokentray help [COMMAND]",
	help:     "Show how to use tokentray, or one command in detail.",
	run:      runHelp,
}

var versionCommand = command{
	name:     "version",
	synopsis: "tokentray version",
	help:     "Print tokentray's version.",
	run: func(_ context.Context, args []string, std stdio) error {
		if len(args) > 0 {
			return usageError{"version takes no arguments"}
		}
		_, err := fmt.Fprintln(std.out, "tokentray", auth.Version)
		return err
	},
}

func runHelp(_ context.Context, args []string, std stdio) error {
	switch len(args) {
	case 0:
		_, err := fmt.Fprint(std.out, usage())
		return err
	case 1:
		cmd, ok := lookup(args[0])
		if !ok {
			return usageError{fmt.Sprintf("unknown command %q", args[0])}
		}
		_, err := fmt.Fprintf(std.out, "Usage:\n  %s\n\n%s\n", cmd.synopsis, cmd.help)
		return err
	default:
		return usageError{"help takes at most one command"}
	}
}

// usage is the overview: every command's synopsis and the exit codes.
func usage() string {
	var b strings.Builder
	b.WriteString("Tokentray keeps API tokens fresh.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n", c.synopsis)
	}
	b.WriteString(`
Run 'tokentray help COMMAND' for one command in detail.

Exit codes: 0 ok, 1 error, 2 usage, 3 you must act (for example the server
refused the credentials: run 'tokentray add NAME …' again with the right
ones); exec exits with its command's status.
`)
	return b.String()
}
