package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/agent/logging"
	"github.com/tokentray/tokentray/store"
)

var agentCommand = command{
	name:     "agent",
	synopsis: "tokentray agent",
	help: `Run the tray agent: it keeps every profile's token fresh, shows the tray
menu and answers 'tokentray token' from memory. The Tokentray window starts
it; a second one exits 0 saying one runs.`,
	run: runAgent,
}

func runAgent(_ context.Context, args []string, std stdio) error {
	if len(args) > 0 {
		return usageError{"agent takes no arguments"}
	}
	// From here on every log line, the standard log package's too, has
	// the secrets this process has seen cut out.
	logging.SetupLogging(std.err)
	socket, err := localapi.SocketPath()
	if err != nil {
		return err
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	// The secrets file's passphrase, when the agent takes it from its
	// environment, is a secret like the others; and it leaves the
	// environment, so that no process the agent starts inherits it.
	logging.Redact(store.TakePassphrase(path))
	err = agent.Run(socket, path)
	if errors.Is(err, localapi.ErrAlreadyRunning) {
		// Not a failure: the one agent the user wants is there.
		fmt.Fprintln(std.out, "A Tokentray agent is already running.")
		return nil
	}
	return err
}
