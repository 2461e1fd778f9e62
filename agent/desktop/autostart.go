package desktop

import (
	"fmt"

	"github.com/tokentray/tokentray/agent/localapi"
)

// AppID names the autostart entry on every system, as FyneApp.toml names
// the app.
const AppID = "io.github.tokentray"

// autostartCommand is what starts the agent at login: the tokentray
// executable beside this one, with the agent command.
func autostartCommand() (exe string, args []string, err error) {
	exe, err = localapi.Sibling("tokentray")
	if err != nil {
		return "", nil, fmt.Errorf("finding the tokentray executable to start at login: %w", err)
	}
	return exe, []string{"agent"}, nil
}
